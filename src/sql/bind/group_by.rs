//! Binding of GROUP BY items (DuckDB's rules): a position in the select list, a
//! select-list alias when no column of the FROM clause has that name (a real
//! column wins), or an expression over the FROM clause's columns, in which an
//! alias may not appear.

use sqlparser::ast;
use sqlparser::ast::Spanned;

use super::{contains_agg_mark, ordinal, output_name, Binder, Item};
use crate::error::Result;
use crate::plan::Expr;

impl Binder<'_> {
    /// One GROUP BY item as a key expression and its name.
    pub(super) fn bind_group_item(
        &mut self,
        g: &ast::Expr,
        items: &[Item],
    ) -> Result<(Expr, String)> {
        // Parentheses around a position or an alias change nothing.
        let mut bare = g;
        while let ast::Expr::Nested(inner) = bare {
            bare = inner;
        }
        if let Some(n) = ordinal(bare) {
            let it = n.checked_sub(1).and_then(|i| items.get(i)).ok_or_else(|| {
                self.err(
                    g.span(),
                    format!(
                        "GROUP BY position {n} is not in the select list (1 to {})",
                        items.len()
                    ),
                )
            })?;
            if contains_agg_mark(&it.expr) {
                return Err(self.err(g.span(), "GROUP BY position refers to an aggregate"));
            }
            return Ok((it.expr.clone(), it.name.clone()));
        }
        if let ast::Expr::Identifier(id) = bare {
            if self.scope.find(&id.value).is_empty() {
                // Of two items with the name, the later one (as DuckDB).
                if let Some(it) = items
                    .iter()
                    .rev()
                    .find(|i| i.name.eq_ignore_ascii_case(&id.value))
                {
                    if contains_agg_mark(&it.expr) {
                        return Err(self.err(g.span(), "GROUP BY alias refers to an aggregate"));
                    }
                    return Ok((it.expr.clone(), it.name.clone()));
                }
            }
        }
        self.group_aliases = items.iter().map(|it| it.name.clone()).collect();
        let e = self.bind_expr(g);
        self.group_aliases.clear();
        Ok((e?, output_name(g)))
    }

    /// The error for a name that is no column but a select-list alias, used
    /// inside a GROUP BY expression (`None` outside GROUP BY or for other names).
    pub(super) fn alias_in_group_expr(&self, id: &ast::Ident) -> Option<crate::error::Error> {
        self.group_aliases
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&id.value))
            .then(|| {
                self.err(
                    id.span,
                    format!(
                        "Alias with name \"{}\" exists, but aliases cannot be used as part of \
                         an expression in the GROUP BY",
                        id.value
                    ),
                )
            })
    }
}
