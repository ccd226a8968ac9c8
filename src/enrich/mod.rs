//! Enrichment: what loginwatch knows about an event beyond its log line, added
//! between parsing and the rules: where the address is (GeoIP), which named
//! lists hold it (IP lists), and whose account it is (the inventory). (being built)
