//! The LIST functions a [`ScalarFunc::List`] names, with DuckDB's meaning; their
//! kernels are in `exec/list.rs`. Positions are 1-based; a negative position
//! counts from the end.
//!
//! [`ScalarFunc::List`]: super::ScalarFunc::List

use super::Pattern;

/// One list function.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListFunc {
    /// `list_value(a, ...)`, `[a, ...]`, `ARRAY[a, ...]`: the arguments (NULLs
    /// included) as one list.
    Value,
    /// A list of quantiles (`quantile_cont(x, [0.25, 0.5])`): the arguments are
    /// the count of x's values, then one quantile per fraction; NULL when the
    /// count is 0.
    Quantiles,
    /// `l[i]`, `list_extract(l, i)`, `list_element`: element i, NULL outside.
    Extract,
    /// `l[a:b]`, `list_slice(l, a, b)`: elements a..=b (bounds clamped; a NULL
    /// bound is the list's end).
    Slice,
    /// `len(l)`, `length`, `array_length`: the number of elements, BIGINT.
    Length,
    /// `list_contains(l, x)` (`list_has`, `array_contains`, `array_has`): whether
    /// x is an element; NULL for a NULL x.
    Contains,
    /// `list_position(l, x)` (`list_indexof`, `array_position`): the first
    /// position of x, NULL when absent.
    Position,
    /// `list_sort(l [, order [, nulls]])`, `list_reverse_sort`.
    Sort { descending: bool, nulls_first: bool },
    /// `list_distinct(l)`: the distinct non-NULL elements.
    Distinct,
    /// `list_unique(l)`: the number of distinct non-NULL elements, UBIGINT.
    Unique,
    /// `list_concat(a, b)` (`list_cat`, `array_concat`): a NULL side counts as
    /// empty.
    Concat,
    /// `a || b` of lists: NULL when either side is.
    ConcatOp,
    /// `list_reverse(l)`.
    Reverse,
    /// `flatten(l)`: a list of lists joined into one list.
    Flatten,
    /// `list_sum/min/max/avg/count/first/last(l)` and `list_aggregate(l, name)`:
    /// an aggregate of the elements.
    Aggregate(ListAggregate),
    /// `regexp_extract_all(s, pattern [, group])`: group `group` of every
    /// non-overlapping match (`None`: a negative group, always empty).
    RegexpExtractAll(Pattern, Option<usize>),
    /// `string_split(s, sep)` (`str_split`, `string_to_array`, `split`): the
    /// pieces between separators; an empty separator splits into characters.
    StringSplit,
    /// `string_split_regex(s, pattern)` (`str_split_regex`,
    /// `regexp_split_to_array`).
    RegexpSplit(Pattern),
}

/// The aggregates `list_aggregate` and its shorthands take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListAggregate {
    Sum,
    Min,
    Max,
    Avg,
    Count,
    First,
    Last,
}

impl ListAggregate {
    /// The aggregate of `list_<name>` / `list_aggregate(l, 'name')`.
    pub fn of_name(name: &str) -> Option<ListAggregate> {
        Some(match name {
            "sum" => ListAggregate::Sum,
            "min" => ListAggregate::Min,
            "max" => ListAggregate::Max,
            "avg" | "mean" => ListAggregate::Avg,
            "count" => ListAggregate::Count,
            "first" => ListAggregate::First,
            "last" => ListAggregate::Last,
            _ => return None,
        })
    }
}
