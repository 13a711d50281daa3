//! The SQL twin of [`crate::fold::fold_case`], for lookups that fold a column as they compare
//! it: ASCII letters lowercased, every other character kept.
//!
//! SQLite's built-in `lower()` folds ASCII letters only (the bundled library has no ICU).
//! PostgreSQL's `lower()` follows the database's locale and folds non-ASCII letters too, so
//! there the expression is a `translate()` of the 26 letters. The migrations build expression
//! indexes on exactly these texts, so such a lookup is one index search.

use diesel::QueryResult;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sqlite::Sqlite;

/// `expr` folded as [`crate::fold::fold_case`] folds text.
pub(crate) fn fold_case<T: Expression>(expr: T) -> FoldCase<T> {
    FoldCase(expr)
}

/// See [`fold_case`].
#[derive(Debug, Clone, Copy, QueryId, ValidGrouping)]
pub(crate) struct FoldCase<T>(T);

impl<T: Expression> Expression for FoldCase<T> {
    type SqlType = T::SqlType;
}

impl<T, QS> AppearsOnTable<QS> for FoldCase<T>
where
    T: AppearsOnTable<QS>,
    QS: ?Sized,
{
}

impl<T, QS> SelectableExpression<QS> for FoldCase<T>
where
    T: SelectableExpression<QS>,
    QS: ?Sized,
{
}

impl<T: QueryFragment<Sqlite>> QueryFragment<Sqlite> for FoldCase<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("lower(");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<T: QueryFragment<Pg>> QueryFragment<Pg> for FoldCase<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("translate(");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')");
        Ok(())
    }
}
