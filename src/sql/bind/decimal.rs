//! DuckDB's typing rules for DECIMAL: the common type of a DECIMAL and another
//! number, and the operand and result types of DECIMAL arithmetic. Integers take
//! part as DECIMAL(w,0) (SMALLINT 5, INTEGER 10, BIGINT 19, UBIGINT 20, HUGEINT 38
//! digits).

use super::is_int;
use crate::decimal::{int_width, MAX_WIDTH};
use crate::plan::BinaryOp;
use crate::schema::DataType;

pub(crate) fn is_decimal(t: DataType) -> bool {
    t.decimal().is_some()
}

/// The width and scale of a DECIMAL, or of an integer type as a DECIMAL.
pub(crate) fn decimal_shape(t: DataType) -> Option<(u8, u8)> {
    match t {
        DataType::Decimal { precision, scale } => Some((precision, scale)),
        // The widths of DuckDB's types, not of logdb's 64-bit storage of them.
        DataType::HugeInt | DataType::UHugeInt => Some((MAX_WIDTH, 0)),
        DataType::UBigInt => Some((20, 0)),
        t if is_int(t) => t.int_range().map(|(_, hi)| (int_width(hi), 0)),
        _ => None,
    }
}

fn decimal(width: u32, scale: u8) -> DataType {
    DataType::Decimal {
        precision: width.min(u32::from(MAX_WIDTH)) as u8,
        scale,
    }
}

/// The type a DECIMAL and an integer or another DECIMAL are compared and combined
/// in (CASE, IN, UNION): the larger scale and the most integer digits, at most
/// 38 digits. `None` unless one side is a DECIMAL and the other an integer or
/// DECIMAL.
pub(crate) fn common_decimal(a: DataType, b: DataType) -> Option<DataType> {
    if !is_decimal(a) && !is_decimal(b) {
        return None;
    }
    let ((p1, s1), (p2, s2)) = (decimal_shape(a)?, decimal_shape(b)?);
    let scale = s1.max(s2);
    let digits = u32::from((p1 - s1).max(p2 - s2));
    Some(decimal(digits + u32::from(scale), scale))
}

/// The types of `l <op> r` when one operand is a DECIMAL and the other an integer
/// or DECIMAL.
pub(crate) struct DecimalArith {
    /// The types the operands are cast to (an operand already of that type stays).
    pub left: DataType,
    pub right: DataType,
    pub result: DataType,
}

/// DuckDB's result types: `+`/`-` keep the larger scale with one more integer
/// digit, `*` adds scales and widths (at most 18 digits when both operands have
/// at most 18), `%` keeps the larger scale, `/` and `//`
/// are DOUBLE. `None` when neither side is a DECIMAL; an error for a product
/// whose scale passes 38.
pub(crate) fn decimal_arith(
    op: BinaryOp,
    lt: DataType,
    rt: DataType,
) -> Option<Result<DecimalArith, String>> {
    if !is_decimal(lt) && !is_decimal(rt) {
        return None;
    }
    let ((p1, s1), (p2, s2)) = (decimal_shape(lt)?, decimal_shape(rt)?);
    let scale = s1.max(s2);
    let digits = u32::from((p1 - s1).max(p2 - s2));
    let same = |t: DataType| DecimalArith {
        left: t,
        right: t,
        result: t,
    };
    Some(Ok(match op {
        BinaryOp::Add | BinaryOp::Sub => same(decimal(digits + u32::from(scale) + 1, scale)),
        BinaryOp::Mod => same(decimal(digits + u32::from(scale), scale)),
        BinaryOp::Mul => {
            let scale = u32::from(s1) + u32::from(s2);
            if scale > u32::from(MAX_WIDTH) {
                return Some(Err(format!(
                    "Out of Range Error: Needed scale {scale} to accurately represent the \
                     multiplication result, but this is out of range of the DECIMAL type. Max \
                     scale is 38; could not perform an accurate multiplication. Either add a \
                     cast to DOUBLE, or add an explicit cast to a decimal with a lower scale."
                )));
            }
            // Two operands of at most 18 digits multiply in 64 bits into at most
            // 18 digits (DuckDB). The scaled integers multiply as they are.
            let width = u32::from(p1) + u32::from(p2);
            let width = if p1 <= 18 && p2 <= 18 {
                width.min(18)
            } else {
                width
            };
            DecimalArith {
                left: lt,
                right: rt,
                result: decimal(width.max(scale), scale as u8),
            }
        }
        _ => same(DataType::Double),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(p: u8, s: u8) -> DataType {
        DataType::Decimal {
            precision: p,
            scale: s,
        }
    }

    #[test]
    fn result_types_as_duckdb() {
        let r = |op, a, b| decimal_arith(op, a, b).unwrap().unwrap().result;
        assert_eq!(r(BinaryOp::Add, d(4, 2), DataType::Integer), d(13, 2));
        assert_eq!(r(BinaryOp::Add, d(4, 2), DataType::BigInt), d(22, 2));
        assert_eq!(r(BinaryOp::Add, d(2, 1), DataType::HugeInt), d(38, 1));
        assert_eq!(r(BinaryOp::Add, d(2, 1), DataType::UBigInt), d(22, 1));
        assert_eq!(r(BinaryOp::Mul, d(4, 2), DataType::Integer), d(14, 2));
        assert_eq!(r(BinaryOp::Mod, d(4, 2), DataType::Integer), d(12, 2));
        assert_eq!(r(BinaryOp::Mod, d(4, 2), d(10, 3)), d(10, 3));
        assert_eq!(r(BinaryOp::Mul, d(18, 2), d(18, 2)), d(18, 4));
        assert_eq!(r(BinaryOp::Mul, d(18, 2), d(20, 0)), d(38, 2));
        assert_eq!(r(BinaryOp::Mul, d(12, 2), DataType::BigInt), d(31, 2));
        assert_eq!(r(BinaryOp::Mul, d(18, 2), DataType::Integer), d(18, 2));
        assert_eq!(
            r(BinaryOp::Div, d(4, 2), DataType::Integer),
            DataType::Double
        );
        assert!(decimal_arith(BinaryOp::Mul, d(20, 20), d(20, 20))
            .unwrap()
            .is_err());
        assert_eq!(common_decimal(d(4, 1), DataType::Integer), Some(d(11, 1)));
        assert_eq!(common_decimal(d(4, 1), d(10, 3)), Some(d(10, 3)));
        assert_eq!(common_decimal(DataType::Integer, DataType::BigInt), None);
    }
}
