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
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    /// `cot(x)`: `1 / tan(x)`.
    Cot,
    /// `gamma(x)`: the gamma function (`gamma(n) = (n-1)!`).
    Gamma,
    /// `lgamma(x)`: the logarithm of |gamma(x)|.
    Lgamma,
    /// `even(x)`: x rounded away from zero to the next even integer, DOUBLE.
    Even,
    /// `factorial(n)` / `n!`: BIGINT; beyond 20! an error (DuckDB: HUGEINT).
    Factorial,
    /// `nextafter(x, y)`: the next double after x towards y.
    NextAfter,
    /// `signbit(x)`: whether the sign bit is set (true for -0.0), BOOLEAN.
    SignBit,
    /// `fdiv(x, y)`: `floor(x / y)`.
    Fdiv,
    /// `fmod(x, y)`: `x - y * floor(x / y)` (the sign of y, as DuckDB).
    Fmod,
    /// `round_even(x, n)` / `roundbankers`: x rounded to n decimals, ties to even.
    RoundEven,
    /// `bit_count(x)`: the one bits of an integer in its type's width, TINYINT.
    BitCount,
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
            "sinh" => (Sinh, 1),
            "cosh" => (Cosh, 1),
            "tanh" => (Tanh, 1),
            "asinh" => (Asinh, 1),
            "acosh" => (Acosh, 1),
            "atanh" => (Atanh, 1),
            "cot" => (Cot, 1),
            "gamma" => (Gamma, 1),
            "lgamma" => (Lgamma, 1),
            "even" => (Even, 1),
            "factorial" => (Factorial, 1),
            "nextafter" => (NextAfter, 2),
            "signbit" => (SignBit, 1),
            "fdiv" => (Fdiv, 2),
            "fmod" => (Fmod, 2),
            "round_even" | "roundbankers" => (RoundEven, 2),
            "bit_count" => (BitCount, 1),
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
            Sinh => "sinh",
            Cosh => "cosh",
            Tanh => "tanh",
            Asinh => "asinh",
            Acosh => "acosh",
            Atanh => "atanh",
            Cot => "cot",
            Gamma => "gamma",
            Lgamma => "lgamma",
            Even => "even",
            Factorial => "factorial",
            NextAfter => "nextafter",
            SignBit => "signbit",
            Fdiv => "fdiv",
            Fmod => "fmod",
            RoundEven => "round_even",
            BitCount => "bit_count",
        }
    }
}
