//! Logical types, columns and table schemas.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

use crate::error::{Error, Result};

/// The logical type of a column.
///
/// Every logical type maps onto one [`PhysicalType`], the representation used in
/// memory and by the encoders: all integer types and timestamps are `i64`, IP
/// addresses are `u128` (IPv4 as IPv4-mapped IPv6, `::ffff:a.b.c.d`), and so are
/// intervals (months, days and microseconds packed into one `u128`).
///
/// Serialized (manifests, schema files) as its SQL spelling: `"BIGINT"`,
/// `"DECIMAL(10,2)"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// Microseconds since the Unix epoch, UTC.
    Timestamp,
    BigInt,
    Integer,
    SmallInt,
    Double,
    Boolean,
    Varchar,
    /// An IPv4 or IPv6 address; printed and compared as text.
    Ip,
    /// A calendar date: days since 1970-01-01 (proleptic Gregorian), printed
    /// `YYYY-MM-DD`.
    Date,
    /// An exact number of at most `precision` digits, `scale` of them after the
    /// point, held as the integer `value * 10^scale` (`crate::decimal`).
    Decimal {
        precision: u8,
        scale: u8,
    },
    /// 8-bit signed integer (DuckDB's TINYINT).
    TinyInt,
    /// Unsigned integers of 8, 16, 32 and 64 bits. All are held as `i64`; a
    /// UBIGINT above `i64::MAX` is refused as not supported yet.
    UTinyInt,
    USmallInt,
    UInteger,
    UBigInt,
    /// 128-bit integers, held as `i64`: a value beyond BIGINT's range is refused
    /// as not supported yet, never wrapped.
    HugeInt,
    UHugeInt,
    /// A time of day: microseconds since midnight, `0..=86_400_000_000` (DuckDB
    /// allows `24:00:00`).
    Time,
    /// Timestamps of coarser or finer units (DuckDB's TIMESTAMP_S / _MS: whole
    /// seconds / milliseconds, held as microseconds since the epoch truncated to
    /// the unit; TIMESTAMP_NS: nanoseconds since the epoch).
    TimestampS,
    TimestampMs,
    TimestampNs,
    /// TIMESTAMP WITH TIME ZONE (TIMESTAMPTZ): an instant as microseconds since
    /// the epoch, like TIMESTAMP, printed in UTC with its offset (`+00`), as
    /// DuckDB without the ICU extension does.
    TimestampTz,
    /// A span of months, days and microseconds (`crate::interval`), held as one
    /// 128-bit value like an IP address.
    Interval,
    /// A list of values of one type (`INTEGER[]`), held as offsets into one column
    /// of all the elements (`crate::column::ListVec`). The element type is
    /// interned ([`DataType::list_of`]) so that the type stays `Copy`. Lists live
    /// in query results; tables do not store them yet.
    List(&'static DataType),
}

impl Serialize for DataType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for DataType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        DataType::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// How values of a [`DataType`] are held in memory and encoded on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhysicalType {
    Int64,
    Float64,
    Bool,
    Utf8,
    /// 128-bit values: IP addresses and INTERVALs (`crate::interval::Interval::pack`).
    Ip,
    /// Lists: offsets into one vector of elements of the inner physical type.
    List(&'static PhysicalType),
}

impl PhysicalType {
    /// The `'static` copy of this type (the element of a list type).
    pub fn interned(self) -> &'static PhysicalType {
        intern(&PHYSICAL_TYPES, self)
    }

    /// Bytes of one value in memory (for strings, of its offset; the text is
    /// extra).
    pub fn width(self) -> usize {
        match self {
            PhysicalType::Int64 | PhysicalType::Float64 => 8,
            PhysicalType::Bool => 1,
            PhysicalType::Utf8 => 4,
            PhysicalType::Ip => 16,
            PhysicalType::List(_) => 4,
        }
    }
}

/// The one `'static` copy of each list element type in use (types are few, so the
/// leaked copies stay bounded by the distinct types a process ever names).
fn intern<T: Copy + Eq + std::hash::Hash + Send + 'static>(
    table: &'static Interned<T>,
    t: T,
) -> &'static T {
    let map = table.get_or_init(Default::default);
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(t).or_insert_with(|| Box::leak(Box::new(t)))
}

type Interned<T> = std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<T, &'static T>>>;
static DATA_TYPES: Interned<DataType> = std::sync::OnceLock::new();
static PHYSICAL_TYPES: Interned<PhysicalType> = std::sync::OnceLock::new();

impl DataType {
    /// The in-memory representation of this type.
    pub fn physical(self) -> PhysicalType {
        match self {
            DataType::Timestamp
            | DataType::Date
            | DataType::BigInt
            | DataType::Integer
            | DataType::SmallInt
            | DataType::Decimal { .. }
            | DataType::TinyInt
            | DataType::UTinyInt
            | DataType::USmallInt
            | DataType::UInteger
            | DataType::UBigInt
            | DataType::HugeInt
            | DataType::UHugeInt
            | DataType::Time
            | DataType::TimestampS
            | DataType::TimestampMs
            | DataType::TimestampNs
            | DataType::TimestampTz => PhysicalType::Int64,
            DataType::Double => PhysicalType::Float64,
            DataType::Boolean => PhysicalType::Bool,
            DataType::Varchar => PhysicalType::Utf8,
            DataType::Ip | DataType::Interval => PhysicalType::Ip,
            DataType::List(e) => PhysicalType::List(e.physical().interned()),
        }
    }

    /// The type of lists of `elem` (`elem[]`).
    pub fn list_of(elem: DataType) -> DataType {
        DataType::List(intern(&DATA_TYPES, elem))
    }

    /// The element type of a list type, `None` for other types.
    pub fn list_elem(self) -> Option<DataType> {
        match self {
            DataType::List(e) => Some(*e),
            _ => None,
        }
    }

    /// The SQL spelling of the type.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            DataType::Decimal { precision, scale } => {
                return Cow::Owned(crate::decimal::type_name(precision, scale))
            }
            DataType::List(e) => return Cow::Owned(format!("{}[]", e.name())),
            DataType::Timestamp => "TIMESTAMP",
            DataType::BigInt => "BIGINT",
            DataType::Integer => "INTEGER",
            DataType::SmallInt => "SMALLINT",
            DataType::Double => "DOUBLE",
            DataType::Boolean => "BOOLEAN",
            DataType::Varchar => "VARCHAR",
            DataType::Ip => "IP",
            DataType::Date => "DATE",
            DataType::TinyInt => "TINYINT",
            DataType::UTinyInt => "UTINYINT",
            DataType::USmallInt => "USMALLINT",
            DataType::UInteger => "UINTEGER",
            DataType::UBigInt => "UBIGINT",
            DataType::HugeInt => "HUGEINT",
            DataType::UHugeInt => "UHUGEINT",
            DataType::Time => "TIME",
            DataType::TimestampS => "TIMESTAMP_S",
            DataType::TimestampMs => "TIMESTAMP_MS",
            DataType::TimestampNs => "TIMESTAMP_NS",
            DataType::TimestampTz => "TIMESTAMP WITH TIME ZONE",
            DataType::Interval => "INTERVAL",
        })
    }

    /// Whether this is one of the integer types (signed or unsigned, any width).
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            DataType::TinyInt
                | DataType::SmallInt
                | DataType::Integer
                | DataType::BigInt
                | DataType::HugeInt
                | DataType::UTinyInt
                | DataType::USmallInt
                | DataType::UInteger
                | DataType::UBigInt
                | DataType::UHugeInt
        )
    }

    /// Whether this is an unsigned integer type.
    pub fn is_unsigned(self) -> bool {
        matches!(
            self,
            DataType::UTinyInt
                | DataType::USmallInt
                | DataType::UInteger
                | DataType::UBigInt
                | DataType::UHugeInt
        )
    }

    /// Whether the type's range in DuckDB is wider than the `i64` that holds it
    /// here (UBIGINT, HUGEINT, UHUGEINT): a value past `int_range` is then "not
    /// supported yet" rather than out of range.
    pub fn is_held_narrower(self) -> bool {
        matches!(
            self,
            DataType::UBigInt | DataType::HugeInt | DataType::UHugeInt
        )
    }

    /// Whether this is TIMESTAMP or one of its unit variants.
    pub fn is_timestamp(self) -> bool {
        matches!(
            self,
            DataType::Timestamp
                | DataType::TimestampS
                | DataType::TimestampMs
                | DataType::TimestampNs
                | DataType::TimestampTz
        )
    }

    /// The scale of a DECIMAL, `None` for other types.
    pub fn decimal(self) -> Option<(u8, u8)> {
        match self {
            DataType::Decimal { precision, scale } => Some((precision, scale)),
            _ => None,
        }
    }

    /// The inclusive range of values an integer type can hold, `None` for others.
    pub fn int_range(self) -> Option<(i64, i64)> {
        match self {
            DataType::TinyInt => Some((i8::MIN as i64, i8::MAX as i64)),
            DataType::UTinyInt => Some((0, u8::MAX as i64)),
            DataType::USmallInt => Some((0, u16::MAX as i64)),
            DataType::UInteger => Some((0, u32::MAX as i64)),
            DataType::UBigInt | DataType::UHugeInt => Some((0, i64::MAX)),
            DataType::HugeInt => Some((i64::MIN, i64::MAX)),
            DataType::SmallInt => Some((i16::MIN as i64, i16::MAX as i64)),
            DataType::Integer => Some((i32::MIN as i64, i32::MAX as i64)),
            DataType::BigInt | DataType::Timestamp => Some((i64::MIN, i64::MAX)),
            // DuckDB's 32-bit day numbers, the infinities included.
            DataType::Date => Some((crate::time::DATE_NEG_INFINITY, crate::time::DATE_INFINITY)),
            _ => None,
        }
    }

    /// Parses a type name as written in SQL or a schema file (case-insensitive,
    /// with the usual aliases).
    pub fn parse(name: &str) -> Result<DataType> {
        let upper = name.trim().to_ascii_uppercase();
        if let Some(elem) = upper.strip_suffix("[]") {
            return Ok(DataType::list_of(DataType::parse(elem)?));
        }
        if let Some(t) = parse_decimal(&upper) {
            return t;
        }
        Ok(match upper.as_str() {
            "TIMESTAMP" | "DATETIME" | "DATETIME64" | "TIMESTAMP_US" => DataType::Timestamp,
            "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => DataType::TimestampTz,
            "TIMESTAMP_S" => DataType::TimestampS,
            "TIMESTAMP_MS" => DataType::TimestampMs,
            "TIMESTAMP_NS" => DataType::TimestampNs,
            "TIME" => DataType::Time,
            "TINYINT" | "INT1" => DataType::TinyInt,
            "UTINYINT" | "UINT8" => DataType::UTinyInt,
            "USMALLINT" | "UINT16" => DataType::USmallInt,
            "UINTEGER" | "UINT32" => DataType::UInteger,
            "UBIGINT" | "UINT64" => DataType::UBigInt,
            "HUGEINT" | "INT128" => DataType::HugeInt,
            "UHUGEINT" | "UINT128" => DataType::UHugeInt,
            "BIGINT" | "INT8" | "LONG" | "INT64" => DataType::BigInt,
            "INTEGER" | "INT" | "INT4" | "INT32" => DataType::Integer,
            "SMALLINT" | "INT2" | "SHORT" | "INT16" => DataType::SmallInt,
            "DOUBLE" | "FLOAT8" | "FLOAT64" | "REAL" | "FLOAT" => DataType::Double,
            "BOOLEAN" | "BOOL" => DataType::Boolean,
            "VARCHAR" | "TEXT" | "STRING" | "CHAR" => DataType::Varchar,
            "IP" | "INET" | "IPV4" | "IPV6" => DataType::Ip,
            "DATE" | "DATE32" => DataType::Date,
            "INTERVAL" => DataType::Interval,
            _ => {
                return Err(Error::InvalidInput(format!(
                    "unknown type '{name}'; known types: TIMESTAMP, BIGINT, INTEGER, SMALLINT, \
                     TINYINT, HUGEINT, UBIGINT, UINTEGER, USMALLINT, UTINYINT, UHUGEINT, \
                     DOUBLE, BOOLEAN, VARCHAR, IP, DATE, TIME, TIMESTAMP_S, TIMESTAMP_MS, \
                     TIMESTAMP_NS, DECIMAL(p,s), INTERVAL, and T[] for lists"
                )))
            }
        })
    }
}

/// `DECIMAL`, `DECIMAL(p)`, `DECIMAL(p,s)` (also spelled `NUMERIC`, `DEC`);
/// `None` for another type name.
fn parse_decimal(upper: &str) -> Option<Result<DataType>> {
    let rest = ["DECIMAL", "NUMERIC", "DEC"]
        .iter()
        .find_map(|k| upper.strip_prefix(k))?
        .trim();
    let bad = || {
        Some(Err(Error::InvalidInput(format!(
            "invalid DECIMAL type '{upper}': write DECIMAL(width, scale)"
        ))))
    };
    let (width, scale) = if rest.is_empty() {
        (
            i64::from(crate::decimal::DEFAULT_WIDTH),
            i64::from(crate::decimal::DEFAULT_SCALE),
        )
    } else {
        let Some(args) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) else {
            return if rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                None
            } else {
                bad()
            };
        };
        let nums: Vec<&str> = args.split(',').map(str::trim).collect();
        let num = |s: &str| s.parse::<i64>().ok();
        match nums.as_slice() {
            [w] => match num(w) {
                Some(w) => (w, 0),
                None => return bad(),
            },
            [w, s] => match (num(w), num(s)) {
                (Some(w), Some(s)) => (w, s),
                _ => return bad(),
            },
            _ => return bad(),
        }
    };
    Some(
        crate::decimal::check_type(width, scale)
            .map(|(precision, scale)| DataType::Decimal { precision, scale })
            .map_err(Error::InvalidInput),
    )
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One column of a table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub data_type: DataType,
    pub nullable: bool,
}

impl Field {
    /// A nullable column.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Field {
        Field {
            name: name.into(),
            data_type,
            nullable: true,
        }
    }

    /// A column that rejects NULLs.
    pub fn not_null(name: impl Into<String>, data_type: DataType) -> Field {
        Field {
            name: name.into(),
            data_type,
            nullable: false,
        }
    }
}

/// The schema of a table: its columns, the time column that drives partitioning
/// (log tables only) and the columns that get a bitmap index in every segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    pub fields: Vec<Field>,
    /// The TIMESTAMP column that partitions and orders a log table; `None` for plain
    /// (dimension) tables.
    #[serde(default)]
    pub time_column: Option<String>,
    /// Columns with a bitmap index (one roaring bitmap per distinct value).
    #[serde(default)]
    pub indexed: Vec<String>,
}

impl TableSchema {
    /// A plain table (no time column, no indexes).
    pub fn new(fields: Vec<Field>) -> TableSchema {
        TableSchema {
            fields,
            time_column: None,
            indexed: Vec::new(),
        }
    }

    /// Makes `column` the time column of a log table.
    pub fn with_time_column(mut self, column: impl Into<String>) -> TableSchema {
        self.time_column = Some(column.into());
        self
    }

    /// Sets the columns that get a bitmap index.
    pub fn with_indexes<I, S>(mut self, columns: I) -> TableSchema
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.indexed = columns.into_iter().map(Into::into).collect();
        self
    }

    /// The position of a column by name (case-insensitive, as in SQL).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name).or_else(|| {
            self.fields
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(name))
        })
    }

    /// Like [`TableSchema::index_of`], with an error that lists the known columns.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.index_of(name).ok_or_else(|| {
            Error::InvalidInput(format!(
                "unknown column '{name}'; known columns: {}",
                self.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// The position of the time column, if any.
    pub fn time_index(&self) -> Option<usize> {
        self.time_column.as_deref().and_then(|c| self.index_of(c))
    }

    /// Whether column `i` carries a bitmap index.
    pub fn is_indexed(&self, i: usize) -> bool {
        let name = &self.fields[i].name;
        self.indexed.iter().any(|c| c.eq_ignore_ascii_case(name))
    }

    /// Checks names, the time column and the indexed columns.
    pub fn validate(&self) -> Result<()> {
        if self.fields.is_empty() {
            return Err(Error::InvalidInput(
                "a table needs at least one column".into(),
            ));
        }
        for (i, f) in self.fields.iter().enumerate() {
            if f.name.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "column {} has an empty name",
                    i + 1
                )));
            }
            if self.fields[..i]
                .iter()
                .any(|g| g.name.eq_ignore_ascii_case(&f.name))
            {
                return Err(Error::InvalidInput(format!(
                    "duplicate column name '{}'",
                    f.name
                )));
            }
            if let DataType::List(_) = f.data_type {
                return Err(Error::InvalidInput(format!(
                    "not supported yet: LIST columns in tables (column '{}' is {})",
                    f.name, f.data_type
                )));
            }
        }
        if let Some(tc) = &self.time_column {
            let i = self.column(tc)?;
            if self.fields[i].data_type != DataType::Timestamp {
                return Err(Error::InvalidInput(format!(
                    "time column '{tc}' must be TIMESTAMP, not {}",
                    self.fields[i].data_type
                )));
            }
        }
        for c in &self.indexed {
            let i = self.column(c)?;
            match self.fields[i].data_type.physical() {
                PhysicalType::Int64 | PhysicalType::Utf8 | PhysicalType::Bool => {}
                other => {
                    return Err(Error::InvalidInput(format!(
                        "column '{c}' of type {} cannot have a bitmap index ({other:?} values)",
                        self.fields[i].data_type
                    )))
                }
            }
        }
        Ok(())
    }
}

/// Checks that a table or column name is usable as a directory name and in SQL.
pub fn validate_table_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "invalid table name '{name}': use letters, digits and '_' (not starting with a digit)"
        )))
    }
}
