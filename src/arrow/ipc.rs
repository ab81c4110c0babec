//! Arrow IPC streams (the format `pyarrow.ipc.open_stream`, Polars'
//! `read_ipc_stream` and DuckDB's arrow extension read): a schema message, then
//! one record batch message per logdb batch.

use std::io::Write;

use arrow_ipc::writer::StreamWriter;
use arrow_schema::SchemaRef;

use crate::column::Batch;
use crate::error::{Error, Result};
use crate::schema::DataType;

/// An Arrow IPC stream being written to `W`.
pub struct IpcStreamWriter<W: Write> {
    inner: StreamWriter<W>,
    schema: SchemaRef,
    types: Vec<DataType>,
}

fn ipc_error(e: arrow_schema::ArrowError) -> Error {
    match e {
        arrow_schema::ArrowError::IoError(_, io) => Error::io("<arrow output>", io),
        other => Error::InvalidInput(format!("writing Arrow IPC: {other}")),
    }
}

impl<W: Write> IpcStreamWriter<W> {
    /// Writes the schema of `columns` to `out`.
    pub fn new(out: W, columns: &[(String, DataType)]) -> Result<IpcStreamWriter<W>> {
        let schema = super::convert::arrow_schema(columns);
        let inner = StreamWriter::try_new(out, &schema).map_err(ipc_error)?;
        Ok(IpcStreamWriter {
            inner,
            schema,
            types: columns.iter().map(|(_, t)| *t).collect(),
        })
    }

    /// Writes `batch` as one record batch message.
    pub fn write(&mut self, batch: &Batch) -> Result<()> {
        let rb = super::convert::to_record_batch(&self.schema, &self.types, batch)?;
        self.inner.write(&rb).map_err(ipc_error)
    }

    /// The sink (to take what was written so far out of a buffer).
    pub fn get_mut(&mut self) -> &mut W {
        self.inner.get_mut()
    }

    /// Writes the end-of-stream marker; gives the sink back.
    pub fn finish(self) -> Result<W> {
        let mut inner = self.inner;
        inner.finish().map_err(ipc_error)?;
        inner.into_inner().map_err(ipc_error)
    }
}
