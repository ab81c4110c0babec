//! Block encodings for column values (see spec/format.md, "Encodings").
