//! Syslog framing: BSD (RFC 3164) and RFC 3339 / RFC 5424 headers. (skeleton)
