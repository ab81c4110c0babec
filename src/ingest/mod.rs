//! Log ingestion: parsers from log formats into typed column batches.
