//! The numeric functions (`abs`, `sqrt`, `sin`, `gcd`, ...) a [`ScalarFunc::Math`]
//! names, with DuckDB's meaning; their kernels are in `exec/math.rs`.
//!
//! [`ScalarFunc::Math`]: super::ScalarFunc::Math

/// One numeric function. Unless noted, the arguments are numeric and the result is
/// DOUBLE (integers are read as doubles); NaN and infinities follow IEEE 754 (and
/// C's libm), as in DuckDB: `sqrt(-1)` is NaN, `ln(0)` is -infinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MathFunc {
    /// `abs(x)`: x's type; the most negative integer of the type is an error.
    Abs,
    /// `sign(x)`: -1, 0 or 1 (0 for NaN), SMALLINT (DuckDB: TINYINT).
    Sign,
    /// `floor(x)`: DOUBLE, also for integers (DuckDB).
    Floor,
    /// `ceil(x)` / `ceiling(x)`: DOUBLE, also for integers (DuckDB).
    Ceil,
    Sqrt,
    Cbrt,
    Exp,
    /// `ln(x)`.
    Ln,
    /// `log10(x)` and `log(x)`.
    Log10,
    Log2,
    /// `log(b, x)`: `log10(x) / log10(b)` (as DuckDB computes it).
    LogBase,
    /// `power(x, y)` / `pow`.
    Power,
    Degrees,
    Radians,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    /// `atan2(y, x)`.
    Atan2,
    /// `isnan(x)`: BOOLEAN.
    IsNan,
    /// `isinf(x)`: BOOLEAN.
    IsInf,
    /// `isfinite(x)`: BOOLEAN.
    IsFinite,
    /// `gcd(a, b)` over BIGINT, never negative; an error when it does not fit.
    Gcd,
    /// `lcm(a, b)` over BIGINT, never negative; an error when it does not fit.
    Lcm,
}

impl MathFunc {
    /// The function a (lower-case) SQL name calls, with its argument count.
    pub fn from_name(name: &str) -> Option<(MathFunc, usize)> {
        use MathFunc::*;
        Some(match name {
            "abs" => (Abs, 1),
            "sign" => (Sign, 1),
            "floor" => (Floor, 1),
            "ceil" | "ceiling" => (Ceil, 1),
            "sqrt" => (Sqrt, 1),
            "cbrt" => (Cbrt, 1),
            "exp" => (Exp, 1),
            "ln" => (Ln, 1),
            "log10" => (Log10, 1),
            "log2" => (Log2, 1),
            "power" | "pow" => (Power, 2),
            "degrees" => (Degrees, 1),
            "radians" => (Radians, 1),
            "sin" => (Sin, 1),
            "cos" => (Cos, 1),
            "tan" => (Tan, 1),
            "asin" => (Asin, 1),
            "acos" => (Acos, 1),
            "atan" => (Atan, 1),
            "atan2" => (Atan2, 2),
            "isnan" => (IsNan, 1),
            "isinf" => (IsInf, 1),
            "isfinite" => (IsFinite, 1),
            "gcd" | "greatest_common_divisor" => (Gcd, 2),
            "lcm" | "least_common_multiple" => (Lcm, 2),
            _ => return None,
        })
    }

    /// The SQL name, for error messages.
    pub fn name(self) -> &'static str {
        use MathFunc::*;
        match self {
            Abs => "abs",
            Sign => "sign",
            Floor => "floor",
            Ceil => "ceil",
            Sqrt => "sqrt",
            Cbrt => "cbrt",
            Exp => "exp",
            Ln => "ln",
            Log10 => "log10",
            Log2 => "log2",
            LogBase => "log",
            Power => "power",
            Degrees => "degrees",
            Radians => "radians",
            Sin => "sin",
            Cos => "cos",
            Tan => "tan",
            Asin => "asin",
            Acos => "acos",
            Atan => "atan",
            Atan2 => "atan2",
            IsNan => "isnan",
            IsInf => "isinf",
            IsFinite => "isfinite",
            Gcd => "gcd",
            Lcm => "lcm",
        }
    }
}
