//! Replay: files through parsers and the rule engine, in event time. (skeleton)
