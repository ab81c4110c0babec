//! The statistical aggregates of one or two numeric arguments: what each
//! computes from the moments the executor keeps per group.

/// A statistic of the moments of one argument (`var_samp(x)`, `skewness(x)`, ...);
/// each is a DOUBLE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MomentStat {
    /// `var_samp` / `variance`: NULL below two values.
    VarSamp,
    /// `var_pop`: NULL without values.
    VarPop,
    /// `stddev_samp` / `stddev`.
    StddevSamp,
    StddevPop,
    /// `sem`: the standard error of the mean, `stddev_pop / sqrt(n)`.
    Sem,
    /// `skewness`: the sample skewness; NULL below three values or without spread.
    Skewness,
    /// `kurtosis`: the sample excess kurtosis; NULL below four values or without
    /// spread.
    Kurtosis,
    /// `kurtosis_pop`: the population excess kurtosis.
    KurtosisPop,
}

impl MomentStat {
    /// Whether the statistic needs the third and fourth power sums.
    pub fn higher(self) -> bool {
        matches!(
            self,
            MomentStat::Skewness | MomentStat::Kurtosis | MomentStat::KurtosisPop
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            MomentStat::VarSamp => "var_samp",
            MomentStat::VarPop => "var_pop",
            MomentStat::StddevSamp => "stddev_samp",
            MomentStat::StddevPop => "stddev_pop",
            MomentStat::Sem => "sem",
            MomentStat::Skewness => "skewness",
            MomentStat::Kurtosis => "kurtosis",
            MomentStat::KurtosisPop => "kurtosis_pop",
        }
    }

    /// The statistic a (lower-case) function name stands for.
    pub fn of_name(name: &str) -> Option<MomentStat> {
        Some(match name {
            "var_samp" | "variance" => MomentStat::VarSamp,
            "var_pop" => MomentStat::VarPop,
            "stddev_samp" | "stddev" => MomentStat::StddevSamp,
            "stddev_pop" => MomentStat::StddevPop,
            "sem" => MomentStat::Sem,
            "skewness" => MomentStat::Skewness,
            "kurtosis" => MomentStat::Kurtosis,
            "kurtosis_pop" => MomentStat::KurtosisPop,
            _ => return None,
        })
    }
}

/// A statistic of the joint moments of `(y, x)` over the rows where both are not
/// NULL (`covar_pop(y, x)`, `corr(y, x)`, the `regr_*` functions); each is a
/// DOUBLE but `regr_count`, a UINTEGER.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoMomentStat {
    CovarPop,
    CovarSamp,
    Corr,
    RegrSlope,
    RegrIntercept,
    RegrR2,
    RegrCount,
    RegrAvgX,
    RegrAvgY,
    RegrSxx,
    RegrSyy,
    RegrSxy,
}

impl CoMomentStat {
    pub fn name(self) -> &'static str {
        match self {
            CoMomentStat::CovarPop => "covar_pop",
            CoMomentStat::CovarSamp => "covar_samp",
            CoMomentStat::Corr => "corr",
            CoMomentStat::RegrSlope => "regr_slope",
            CoMomentStat::RegrIntercept => "regr_intercept",
            CoMomentStat::RegrR2 => "regr_r2",
            CoMomentStat::RegrCount => "regr_count",
            CoMomentStat::RegrAvgX => "regr_avgx",
            CoMomentStat::RegrAvgY => "regr_avgy",
            CoMomentStat::RegrSxx => "regr_sxx",
            CoMomentStat::RegrSyy => "regr_syy",
            CoMomentStat::RegrSxy => "regr_sxy",
        }
    }

    /// The statistic a (lower-case) function name stands for.
    pub fn of_name(name: &str) -> Option<CoMomentStat> {
        [
            CoMomentStat::CovarPop,
            CoMomentStat::CovarSamp,
            CoMomentStat::Corr,
            CoMomentStat::RegrSlope,
            CoMomentStat::RegrIntercept,
            CoMomentStat::RegrR2,
            CoMomentStat::RegrCount,
            CoMomentStat::RegrAvgX,
            CoMomentStat::RegrAvgY,
            CoMomentStat::RegrSxx,
            CoMomentStat::RegrSyy,
            CoMomentStat::RegrSxy,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// A fold of one argument per group into one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FoldFunc {
    /// `product(x)`: DOUBLE.
    Product,
    /// `geomean(x)` / `geometric_mean`: DOUBLE.
    GeoMean,
    /// `bool_and(x)`.
    BoolAnd,
    /// `bool_or(x)`.
    BoolOr,
    /// `bit_and(x)` of integers, of the argument's type.
    BitAnd,
    BitOr,
    BitXor,
    /// `fsum(x)` / `sumkahan` / `kahan_sum`: a DOUBLE sum with Kahan's
    /// compensation of the rounding error.
    KahanSum,
    /// `favg(x)`: the compensated sum divided by the count.
    KahanAvg,
}

impl FoldFunc {
    pub fn name(self) -> &'static str {
        match self {
            FoldFunc::Product => "product",
            FoldFunc::GeoMean => "geomean",
            FoldFunc::BoolAnd => "bool_and",
            FoldFunc::BoolOr => "bool_or",
            FoldFunc::BitAnd => "bit_and",
            FoldFunc::BitOr => "bit_or",
            FoldFunc::BitXor => "bit_xor",
            FoldFunc::KahanSum => "fsum",
            FoldFunc::KahanAvg => "favg",
        }
    }

    /// The fold a (lower-case) function name stands for.
    pub fn of_name(name: &str) -> Option<FoldFunc> {
        Some(match name {
            "product" => FoldFunc::Product,
            "geomean" | "geometric_mean" => FoldFunc::GeoMean,
            "bool_and" => FoldFunc::BoolAnd,
            "bool_or" => FoldFunc::BoolOr,
            "bit_and" => FoldFunc::BitAnd,
            "bit_or" => FoldFunc::BitOr,
            "bit_xor" => FoldFunc::BitXor,
            "fsum" | "sumkahan" | "kahan_sum" => FoldFunc::KahanSum,
            "favg" => FoldFunc::KahanAvg,
            _ => return None,
        })
    }
}
