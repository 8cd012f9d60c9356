//! `--prune`: deletes what a plan marks `delete` — functions and sequences first, then
//! triggers, then packages (a package goes only once it is empty).

use sluice_core::{
    ChangeKind, DeployFailure, DeployResponse, DeploySuccess, EntityKind, Feedback, Plan,
    PlanEntity,
};

use crate::client::Client;
use crate::error::OwError;
use crate::triggers::TriggersApi;

fn order(entity: PlanEntity) -> u8 {
    match entity {
        PlanEntity::Sequence => 0,
        PlanEntity::Function => 1,
        PlanEntity::Trigger => 2,
        PlanEntity::Binding | PlanEntity::Package => 3,
    }
}

/// Carries out the plan's deletes; an entity already gone counts as deleted.
pub(crate) async fn prune(
    client: &Client,
    triggers: Option<&TriggersApi>,
    namespace: &str,
    plan: &Plan,
    feedback: &dyn Feedback,
) -> DeployResponse {
    let mut deletes: Vec<_> = plan.of(ChangeKind::Delete).collect();
    deletes.sort_by_key(|c| order(c.entity));
    let mut response = DeployResponse::default();
    for change in deletes {
        let (kind, result) = match change.entity {
            PlanEntity::Function | PlanEntity::Sequence => (
                EntityKind::Action,
                client
                    .delete(client.entity_url("actions", &change.name))
                    .await
                    .map(|_| ()),
            ),
            PlanEntity::Package | PlanEntity::Binding => (
                EntityKind::Package,
                client
                    .delete(client.entity_url("packages", &change.name))
                    .await
                    .map(|_| ()),
            ),
            PlanEntity::Trigger => match triggers {
                Some(api) => (
                    EntityKind::Trigger,
                    api.delete(namespace, &change.name).await,
                ),
                None => continue,
            },
        };
        match result {
            Ok(()) => {}
            Err(e) if e.status() == Some(404) => {}
            Err(e) => {
                response
                    .failures
                    .push(failure(e, change.entity, &change.name));
                continue;
            }
        }
        feedback.progress(&format!(
            "Deleted {} {}",
            change.entity.as_str(),
            change.name
        ));
        response.deleted.push(DeploySuccess {
            name: change.name.clone(),
            kind,
            skipped: false,
        });
    }
    response
}

fn failure(e: OwError, entity: PlanEntity, name: &str) -> DeployFailure {
    DeployFailure {
        status_code: e.status(),
        message: e.to_string(),
        context: Some(format!("deleting {} '{name}'", entity.as_str())),
    }
}
