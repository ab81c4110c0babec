//! Moments: the variances, standard deviations, skewness and kurtosis of one
//! argument ([`Moments`]), and the covariances, correlation and regressions of
//! two ([`CoMoments`]).
//!
//! Means and sums of squared deviations are kept with Welford's update and
//! merged with Chan's formula, which stay accurate where the textbook
//! `sum(x²) - sum(x)²/n` cancels. Skewness and kurtosis use the power sums, as
//! DuckDB does, so their answers agree with DuckDB's to the last digits.

use super::{Acc, GroupStates, GroupedRows};
use crate::column::{Bitmap, Column, ColumnData};
use crate::error::{Error, Result};
use crate::exec::vector;
use crate::plan::{CoMomentStat, MomentStat};
use crate::schema::DataType;

/// Count, mean and sum of squared deviations of one group's values, and (for
/// skewness and kurtosis) their power sums.
#[derive(Clone, Copy, Debug, Default)]
struct Welford {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Welford {
    #[inline]
    fn add(&mut self, x: f64) {
        self.n += 1.0;
        let d = x - self.mean;
        self.mean += d / self.n;
        self.m2 += d * (x - self.mean);
    }

    fn merge(&mut self, o: &Welford) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        self.mean += d * o.n / n;
        self.m2 += o.m2 + d * d * self.n * o.n / n;
        self.n = n;
    }
}

/// A statistic of one argument's moments, per group.
#[derive(Clone, Debug)]
pub(super) struct Moments {
    stat: MomentStat,
    w: Vec<Welford>,
    /// sum x, x², x³, x⁴ (only for skewness and kurtosis).
    sums: Vec<[f64; 4]>,
}

impl Moments {
    pub(super) fn new(stat: MomentStat) -> Moments {
        Moments {
            stat,
            w: Vec::new(),
            sums: Vec::new(),
        }
    }
}

impl GroupStates for Moments {
    fn resize(&mut self, n: usize) {
        self.w.resize(n, Welford::default());
        if self.stat.higher() {
            self.sums.resize(n, [0.0; 4]);
        }
    }

    fn empty_like(&self) -> Moments {
        Moments::new(self.stat)
    }

    fn group_bytes(&self) -> usize {
        24 + if self.stat.higher() { 32 } else { 0 }
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let v = b.arg;
        let x = vector::floats(v, b.len)?;
        let higher = self.stat.higher();
        for (r, g) in b.pairs() {
            if v.is_valid(r) {
                let x = x[r];
                self.w[g].add(x);
                if higher {
                    let s = &mut self.sums[g];
                    let x2 = x * x;
                    s[0] += x;
                    s[1] += x2;
                    s[2] += x2 * x;
                    s[3] += x2 * x2;
                }
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: Moments, map: &[u32]) -> Result<()> {
        for (g, w) in other.w.iter().enumerate() {
            let t = map[g] as usize;
            self.w[t].merge(w);
            if let Some(o) = other.sums.get(g) {
                for (a, b) in self.sums[t].iter_mut().zip(o) {
                    *a += b;
                }
            }
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        let sums = |g: usize| self.sums.get(g).copied().unwrap_or_default();
        let values = (0..self.w.len())
            .map(|g| moment_stat(self.stat, &self.w[g], sums(g)))
            .collect::<Result<Vec<_>>>()?;
        Ok(floats(values.into_iter()))
    }
}

/// The statistic `stat` of a group (`None`: NULL). Skewness and kurtosis whose
/// power sums overflow are an error, as in DuckDB.
fn moment_stat(stat: MomentStat, w: &Welford, s: [f64; 4]) -> Result<Option<f64>> {
    let r = moment_value(stat, w, s);
    match r {
        Some(x) if !x.is_finite() && stat.higher() => Err(Error::InvalidInput(format!(
            "Out of Range Error: {} is out of range!",
            if stat == MomentStat::Skewness {
                "SKEW"
            } else {
                "Kurtosis"
            }
        ))),
        _ => Ok(r),
    }
}

fn moment_value(stat: MomentStat, w: &Welford, s: [f64; 4]) -> Option<f64> {
    let n = w.n;
    let var_pop = w.m2 / n;
    match stat {
        MomentStat::VarPop if n >= 1.0 => Some(var_pop),
        MomentStat::StddevPop if n >= 1.0 => Some(var_pop.sqrt()),
        MomentStat::VarSamp if n >= 2.0 => Some(w.m2 / (n - 1.0)),
        MomentStat::StddevSamp if n >= 2.0 => Some((w.m2 / (n - 1.0)).sqrt()),
        MomentStat::Sem if n >= 1.0 => Some(var_pop.sqrt() / n.sqrt()),
        MomentStat::Skewness if n >= 3.0 => {
            let t = 1.0 / n;
            let m2 = t * (s[1] - s[0] * s[0] * t);
            let div = (m2 * m2 * m2).sqrt();
            if div == 0.0 {
                return None;
            }
            let m3 = s[2] - 3.0 * s[1] * s[0] * t + 2.0 * s[0].powi(3) * t * t;
            Some((n * (n - 1.0)).sqrt() / (n - 2.0) * t * m3 / div)
        }
        MomentStat::Kurtosis | MomentStat::KurtosisPop
            if n >= 4.0 || (n >= 1.0 && stat == MomentStat::KurtosisPop) =>
        {
            let t = 1.0 / n;
            let m4 = t
                * (s[3] - 4.0 * s[2] * s[0] * t + 6.0 * s[1] * s[0] * s[0] * t * t
                    - 3.0 * s[0].powi(4) * t.powi(3));
            let m2 = t * (s[1] - s[0] * s[0] * t);
            if m2 <= 0.0 {
                return None;
            }
            if stat == MomentStat::KurtosisPop {
                return Some(m4 / (m2 * m2) - 3.0);
            }
            Some(
                (n - 1.0) * ((n + 1.0) * m4 / (m2 * m2) - 3.0 * (n - 1.0))
                    / ((n - 2.0) * (n - 3.0)),
            )
        }
        _ => None,
    }
}

/// Count, means, sums of squared deviations and co-moment of one group's
/// `(y, x)` pairs.
#[derive(Clone, Copy, Debug, Default)]
struct CoWelford {
    n: f64,
    mean_x: f64,
    mean_y: f64,
    m2_x: f64,
    m2_y: f64,
    c: f64,
}

impl CoWelford {
    #[inline]
    fn add(&mut self, y: f64, x: f64) {
        self.n += 1.0;
        let dx = x - self.mean_x;
        let dy = y - self.mean_y;
        self.mean_x += dx / self.n;
        self.mean_y += dy / self.n;
        self.m2_x += dx * (x - self.mean_x);
        self.m2_y += dy * (y - self.mean_y);
        self.c += dx * (y - self.mean_y);
    }

    fn merge(&mut self, o: &CoWelford) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let dx = o.mean_x - self.mean_x;
        let dy = o.mean_y - self.mean_y;
        let f = self.n * o.n / n;
        self.c += o.c + dx * dy * f;
        self.m2_x += o.m2_x + dx * dx * f;
        self.m2_y += o.m2_y + dy * dy * f;
        self.mean_x += dx * o.n / n;
        self.mean_y += dy * o.n / n;
        self.n = n;
    }
}

/// A statistic of the joint moments of `(y, x)` (x the second argument), per
/// group, over the rows where both are not NULL.
#[derive(Clone, Debug)]
pub(super) struct CoMoments {
    stat: CoMomentStat,
    w: Vec<CoWelford>,
}

impl CoMoments {
    pub(super) fn new(stat: CoMomentStat) -> CoMoments {
        CoMoments {
            stat,
            w: Vec::new(),
        }
    }
}

impl GroupStates for CoMoments {
    fn resize(&mut self, n: usize) {
        self.w.resize(n, CoWelford::default());
    }

    fn empty_like(&self) -> CoMoments {
        CoMoments::new(self.stat)
    }

    fn group_bytes(&self) -> usize {
        48
    }

    fn update(&mut self, b: &GroupedRows<'_>, _grown: &mut usize) -> Result<()> {
        let Some((xv, _)) = b.arg2 else {
            return Ok(());
        };
        if xv.is_null_const() {
            return Ok(());
        }
        let yv = b.arg;
        let y = vector::floats(yv, b.len)?;
        let x = vector::floats(xv, b.len)?;
        for (r, g) in b.pairs() {
            if yv.is_valid(r) && xv.is_valid(r) {
                self.w[g].add(y[r], x[r]);
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: CoMoments, map: &[u32]) -> Result<()> {
        for (g, w) in other.w.iter().enumerate() {
            self.w[map[g] as usize].merge(w);
        }
        Ok(())
    }

    fn finish(&self, _t: DataType, _all: &[Acc]) -> Result<Column> {
        if self.stat == CoMomentStat::RegrCount {
            let n = self.w.iter().map(|w| w.n as i64).collect();
            return Ok(Column::new(ColumnData::Int64(n)));
        }
        Ok(floats(self.w.iter().map(|w| co_moment_stat(self.stat, w))))
    }
}

/// The statistic `stat` of a group (`None`: NULL); divisions by a zero spread
/// give NaN, as in DuckDB.
fn co_moment_stat(stat: CoMomentStat, w: &CoWelford) -> Option<f64> {
    let n = w.n;
    if n == 0.0 {
        return None;
    }
    let covar_pop = w.c / n;
    let (var_x, var_y) = (w.m2_x / n, w.m2_y / n);
    let corr = || covar_pop / (var_x.sqrt() * var_y.sqrt());
    let slope = covar_pop / var_x;
    Some(match stat {
        CoMomentStat::CovarPop => covar_pop,
        CoMomentStat::CovarSamp if n >= 2.0 => w.c / (n - 1.0),
        CoMomentStat::CovarSamp => return None,
        CoMomentStat::Corr => corr(),
        CoMomentStat::RegrSlope => slope,
        // No spread in x: no line (NULL), as DuckDB.
        CoMomentStat::RegrIntercept if var_x == 0.0 => return None,
        CoMomentStat::RegrIntercept => w.mean_y - slope * w.mean_x,
        CoMomentStat::RegrR2 if var_x == 0.0 => return None,
        CoMomentStat::RegrR2 if var_y == 0.0 => 1.0,
        CoMomentStat::RegrR2 => corr() * corr(),
        CoMomentStat::RegrCount => n,
        CoMomentStat::RegrAvgX => w.mean_x,
        CoMomentStat::RegrAvgY => w.mean_y,
        CoMomentStat::RegrSxx => w.m2_x,
        CoMomentStat::RegrSyy => w.m2_y,
        CoMomentStat::RegrSxy => w.c,
    })
}

/// A DOUBLE column of the values, NULL where `None`.
pub(super) fn floats(values: impl Iterator<Item = Option<f64>>) -> Column {
    let mut data = Vec::new();
    let mut valid = Vec::new();
    for v in values {
        data.push(v.unwrap_or(0.0));
        valid.push(v.is_some());
    }
    let validity = valid
        .iter()
        .any(|v| !v)
        .then(|| Bitmap::from_words(super::words_of(&valid), valid.len()));
    Column {
        data: ColumnData::Float64(data),
        validity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-pass definitions, to check the streaming updates and merges.
    fn two_pass(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        (mean, xs.iter().map(|x| (x - mean) * (x - mean)).sum())
    }

    #[test]
    fn welford_updates_and_merges_agree_with_two_passes() {
        let xs: Vec<f64> = (0..97)
            .map(|i| ((i * 37) % 101) as f64 * 1.5 + 1e6)
            .collect();
        let (mean, m2) = two_pass(&xs);
        for split in [0, 1, 40, 96, 97] {
            let (mut a, mut b) = (Welford::default(), Welford::default());
            xs[..split].iter().for_each(|&x| a.add(x));
            xs[split..].iter().for_each(|&x| b.add(x));
            a.merge(&b);
            assert_eq!(a.n, 97.0);
            assert!((a.mean - mean).abs() < 1e-6, "{split}: {} {mean}", a.mean);
            assert!((a.m2 - m2).abs() / m2 < 1e-9, "{split}: {} {m2}", a.m2);
        }
    }

    #[test]
    fn co_moments_merge_as_one_pass() {
        let ys: Vec<f64> = (0..50).map(|i| (i * 7 % 13) as f64).collect();
        let xs: Vec<f64> = (0..50).map(|i| (i * 3 % 11) as f64 - 4.0).collect();
        let mut one = CoWelford::default();
        ys.iter().zip(&xs).for_each(|(&y, &x)| one.add(y, x));
        let (mut a, mut b) = (CoWelford::default(), CoWelford::default());
        ys.iter().zip(&xs).take(17).for_each(|(&y, &x)| a.add(y, x));
        ys.iter().zip(&xs).skip(17).for_each(|(&y, &x)| b.add(y, x));
        a.merge(&b);
        for (p, q) in [
            (a.c, one.c),
            (a.m2_x, one.m2_x),
            (a.m2_y, one.m2_y),
            (a.mean_x, one.mean_x),
        ] {
            assert!((p - q).abs() < 1e-9, "{p} {q}");
        }
        let (mx, my) = (xs.iter().sum::<f64>() / 50.0, ys.iter().sum::<f64>() / 50.0);
        let c: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        assert!((one.c - c).abs() < 1e-9);
    }

    #[test]
    fn statistics_of_small_groups_follow_duckdb() {
        let mut w = Welford::default();
        w.add(1.0);
        assert_eq!(moment_value(MomentStat::VarSamp, &w, [0.0; 4]), None);
        assert_eq!(moment_value(MomentStat::VarPop, &w, [0.0; 4]), Some(0.0));
        assert_eq!(
            moment_value(MomentStat::VarPop, &Welford::default(), [0.0; 4]),
            None
        );
        let mut big = Welford::default();
        let mut sums = [0.0; 4];
        for x in [-2e307, 0.0, 2e307] {
            big.add(x);
            sums[0] += x;
            sums[1] += x * x;
            sums[2] += x * x * x;
            sums[3] += x * x * x * x;
        }
        assert!(moment_stat(MomentStat::Skewness, &big, sums).is_err());
        let mut c = CoWelford::default();
        c.add(1.0, 2.0);
        assert!(co_moment_stat(CoMomentStat::Corr, &c).unwrap().is_nan());
        assert_eq!(co_moment_stat(CoMomentStat::RegrR2, &c), None);
        assert_eq!(co_moment_stat(CoMomentStat::CovarSamp, &c), None);
    }
}
