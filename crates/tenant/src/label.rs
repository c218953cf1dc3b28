//! The reserved label that says whose a series is: added to every write, required by every
//! read, taken off every answer.

use strata_model::{Labels, Matcher};

use crate::TenantId;

/// The label a series' tenant is kept in. Names starting with `__` are reserved for the
/// system in Prometheus' data model, so no client writes it by accident; one that does is
/// refused ([`tag`]).
pub const TENANT_LABEL: &str = "__tenant__";

/// `labels` with the tenant's label added; an error when they carry it already.
pub fn tag(labels: &Labels, tenant: &TenantId) -> Result<Labels, String> {
    if labels.get(TENANT_LABEL).is_some() {
        return Err(format!("label {TENANT_LABEL} is reserved for the tenant a series belongs to"));
    }
    let mut tagged = labels.clone();
    tagged.set(TENANT_LABEL, tenant.as_str());
    Ok(tagged)
}

/// `matchers` confined to the tenant: what they select in a store holding only the
/// tenant's series, without the label (no matchers: every series of the tenant); `None`
/// when they select nothing there.
///
/// A tenant never sees the label, so its own matchers on it are read as on a series
/// without it — against the empty value: one the empty value passes is dropped, one it
/// fails selects nothing (`{__tenant__="b"}` finds nothing for tenant `b` either, as on
/// its own server).
pub fn confine(matchers: &[Matcher], tenant: &TenantId) -> Option<Vec<Matcher>> {
    let mut confined = Vec::with_capacity(matchers.len() + 1);
    confined.push(Matcher::equal(TENANT_LABEL, tenant.as_str()));
    for m in matchers {
        if m.name() != TENANT_LABEL {
            confined.push(m.clone());
        } else if !m.matches("") {
            return None;
        }
    }
    Some(confined)
}

/// Takes the tenant's label off.
pub fn strip(labels: &mut Labels) {
    labels.remove(TENANT_LABEL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_confines_and_strips() {
        let acme = TenantId::parse("acme").unwrap();
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "api")]).unwrap();
        let tagged = tag(&labels, &acme).unwrap();
        assert_eq!(tagged.get(TENANT_LABEL), Some("acme"));
        let err = tag(&tagged, &acme).unwrap_err();
        assert!(err.contains("reserved"), "{err}");
        let mut back = tagged.clone();
        strip(&mut back);
        assert_eq!(back, labels);
        let confined = confine(&[Matcher::equal("job", "api")], &acme).unwrap();
        assert!(confined.iter().all(|m| m.matches_labels(&tagged)));
        let other = tag(&labels, &TenantId::parse("other").unwrap()).unwrap();
        assert!(!confined.iter().all(|m| m.matches_labels(&other)));
        assert!(confine(&[Matcher::equal(TENANT_LABEL, "acme")], &acme).is_none(), "the label is not there");
        let empty = confine(&[Matcher::equal(TENANT_LABEL, "")], &acme).unwrap();
        assert_eq!(empty.len(), 1, "a matcher the missing label passes is dropped");
    }
}
