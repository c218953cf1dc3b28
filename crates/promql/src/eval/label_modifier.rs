//! The label lists of grouping and vector matching as the evaluator reads them: `by`/`on`
//! keep the listed labels ([`LabelModifier::Include`]), `without`/`ignoring` drop them
//! ([`LabelModifier::Exclude`]); no clause is `None`.

use strata_promql_syntax::ast::{AggregateExpr, Cardinality, VectorMatching};

/// Labels named in a clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LabelList {
    pub(crate) labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LabelModifier {
    Include(LabelList),
    Exclude(LabelList),
}

/// How the sides of a vector/vector operation pair up, with the labels `group_left` or
/// `group_right` copy from the "one" side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VectorMatchCardinality {
    OneToOne,
    ManyToOne(LabelList),
    OneToMany(LabelList),
    ManyToMany,
}

impl VectorMatchCardinality {
    /// The labels of `group_left(…)`/`group_right(…)`.
    pub(crate) fn labels(&self) -> Option<&LabelList> {
        match self {
            VectorMatchCardinality::ManyToOne(l) | VectorMatchCardinality::OneToMany(l) => Some(l),
            _ => None,
        }
    }
}

/// An aggregation's `by`/`without` clause.
pub(crate) fn grouping(agg: &AggregateExpr) -> Option<LabelModifier> {
    let list = LabelList { labels: agg.grouping.clone() };
    match (agg.without, agg.grouping.is_empty()) {
        (true, _) => Some(LabelModifier::Exclude(list)),
        (false, false) => Some(LabelModifier::Include(list)),
        (false, true) => None,
    }
}

/// A binary operation's `on`/`ignoring` clause.
pub(crate) fn matching(m: Option<&VectorMatching>) -> Option<LabelModifier> {
    let m = m.filter(|m| m.labels_given)?;
    let list = LabelList { labels: m.labels.clone() };
    Some(if m.on { LabelModifier::Include(list) } else { LabelModifier::Exclude(list) })
}

/// A binary operation's cardinality (one-to-one when the operands are not both vectors).
pub(crate) fn cardinality(m: Option<&VectorMatching>) -> VectorMatchCardinality {
    let Some(m) = m else { return VectorMatchCardinality::OneToOne };
    let include = || LabelList { labels: m.include.clone() };
    match m.card {
        Cardinality::OneToOne => VectorMatchCardinality::OneToOne,
        Cardinality::ManyToOne => VectorMatchCardinality::ManyToOne(include()),
        Cardinality::OneToMany => VectorMatchCardinality::OneToMany(include()),
        Cardinality::ManyToMany => VectorMatchCardinality::ManyToMany,
    }
}
