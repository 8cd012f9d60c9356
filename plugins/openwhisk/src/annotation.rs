//! The `deployer` annotation (spec §11.4): who deployed what from where, plus a per-entity
//! digest. Each entity gets its own copy (the original mutated one shared object, so a
//! sequence could carry some package's digest, §16 item 32).
//!
//! The base annotation is the one the reader put in the project
//! (`DeployStructure::deployer_annotation`), or `sluice_core::annotation` when the project
//! came without one: this crate runs no `git` of its own.

use serde_json::Value;
use sluice_core::DeployerAnnotation;

/// The annotation value for one entity: a copy of `base` with this entity's short digest
/// (and `zipped` for actions), without the slice-only marker.
pub fn for_entity(
    base: &DeployerAnnotation,
    digest: Option<String>,
    zipped: Option<bool>,
) -> Value {
    let mut own = base.clone();
    own.digest = digest;
    own.zipped = zipped;
    own.new_slice_handling = None;
    serde_json::to_value(own).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_get_their_own_copies() {
        let base = DeployerAnnotation {
            user: Some("me".into()),
            project_path: "/p".into(),
            new_slice_handling: Some(true),
            ..Default::default()
        };
        let a = for_entity(&base, Some("aaaaaaaa".into()), Some(false));
        let b = for_entity(&base, Some("bbbbbbbb".into()), None);
        assert_eq!(a["digest"], "aaaaaaaa");
        assert_eq!(a["zipped"], false);
        assert_eq!(b["digest"], "bbbbbbbb");
        assert!(b.get("zipped").is_none());
        assert!(a.get("newSliceHandling").is_none());
        assert_eq!(base.digest, None);
    }
}
