//! The lineage graph in PostgreSQL: recording a job's lineage with validity ranges, and walking the
//! graph as of a moment.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use cwic_shared::TenantId;
use serde::Serialize;
use uuid::Uuid;

use super::{Store, StoreError, StoreResult, TenantStore};
use crate::lineage::job::{DatasetRef, JobLineage};

/// Longest walk the API allows, in edges.
pub const MAX_DEPTH: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upstream,
    Downstream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Table,
    Column,
}

/// What recording a job's lineage changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineageChange {
    pub opened: u64,
    pub closed: u64,
    /// The event was older than the job's current lineage and was ignored.
    pub stale: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LineageNode {
    pub id: Uuid,
    pub kind: String,
    pub namespace: String,
    /// `schema.table` for datasets and columns, the job's name for jobs.
    pub dataset: String,
    /// The column's name for column nodes.
    pub column: Option<String>,
    /// The measured asset this dataset is (same source name and `schema.table`), if any.
    pub asset_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LineageEdge {
    pub source: Uuid,
    pub target: Uuid,
    pub kind: String,
    pub origin: String,
    pub job: String,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
}

/// A node reached by a walk, with its distance from the start.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReachedNode {
    #[serde(flatten)]
    pub node: LineageNode,
    pub depth: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineageWalk {
    pub root: LineageNode,
    pub as_of: DateTime<Utc>,
    pub nodes: Vec<ReachedNode>,
    pub edges: Vec<LineageEdge>,
}

const NODE_SELECT: &str = "
SELECT n.id, n.kind, n.namespace,
       CASE WHEN n.kind = 'column' THEN d.name ELSE n.name END AS dataset,
       CASE WHEN n.kind = 'column' THEN substr(n.name, length(d.name) + 2) END AS column,
       a.id AS asset_id
FROM lineage_nodes n
LEFT JOIN lineage_nodes d ON d.id = n.dataset_id
LEFT JOIN assets a ON a.tenant_id = n.tenant_id AND a.source_name = n.namespace
     AND a.schema_name || '.' || a.name = CASE WHEN n.kind = 'column' THEN d.name ELSE n.name END";

struct NodeKey<'a> {
    kind: &'static str,
    namespace: &'a str,
    name: String,
    dataset: Option<&'a DatasetRef>,
}

impl Store {
    /// [`TenantStore::record_lineage`] for ingest, which holds the owner store.
    pub async fn record_lineage(
        &self,
        tenant: &TenantId,
        lineage: &JobLineage,
    ) -> StoreResult<LineageChange> {
        self.tenant(tenant).record_lineage(lineage).await
    }
}

impl TenantStore {
    /// Records `lineage` as the job's current lineage: edges it no longer has are closed at the event
    /// time, new ones open there, unchanged ones stay. Recording the same lineage twice changes nothing;
    /// an event older than the job's newest recorded change is ignored.
    pub async fn record_lineage(&self, lineage: &JobLineage) -> StoreResult<LineageChange> {
        lineage.check_names().map_err(StoreError::InvalidBatch)?;
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(tenant.as_str())
            .execute(&mut *tx)
            .await?;

        let mut keys: Vec<NodeKey<'_>> = vec![NodeKey {
            kind: "job",
            namespace: &lineage.job.namespace,
            name: lineage.job.name.clone(),
            dataset: None,
        }];
        let mut datasets: BTreeSet<&DatasetRef> = lineage.inputs.iter().chain(&lineage.outputs).collect();
        for link in &lineage.columns {
            datasets.insert(&link.source.dataset);
            datasets.insert(&link.target.dataset);
        }
        for dataset in &datasets {
            keys.push(NodeKey {
                kind: "dataset",
                namespace: &dataset.namespace,
                name: dataset.name.clone(),
                dataset: None,
            });
        }
        let mut columns = BTreeSet::new();
        for link in &lineage.columns {
            columns.insert(&link.source);
            columns.insert(&link.target);
        }
        for column in &columns {
            keys.push(NodeKey {
                kind: "column",
                namespace: &column.dataset.namespace,
                name: format!("{}.{}", column.dataset.name, column.column),
                dataset: Some(&column.dataset),
            });
        }

        // Upsert every node in two statements (datasets before the columns that point at them).
        let mut ids: HashMap<(&str, String, String), Uuid> = HashMap::new();
        for pass in [["job", "dataset"].as_slice(), ["column"].as_slice()] {
            let batch: Vec<&NodeKey<'_>> = keys.iter().filter(|key| pass.contains(&key.kind)).collect();
            if batch.is_empty() {
                continue;
            }
            let new_ids: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
            let kinds: Vec<&str> = batch.iter().map(|key| key.kind).collect();
            let namespaces: Vec<&str> = batch.iter().map(|key| key.namespace).collect();
            let names: Vec<&str> = batch.iter().map(|key| key.name.as_str()).collect();
            let dataset_ids: Vec<Option<Uuid>> = batch
                .iter()
                .map(|key| {
                    key.dataset.and_then(|dataset| {
                        ids.get(&("dataset", dataset.namespace.clone(), dataset.name.clone()))
                            .copied()
                    })
                })
                .collect();
            let rows: Vec<(Uuid, String, String, String)> = sqlx::query_as(
                "INSERT INTO lineage_nodes (id, tenant_id, kind, namespace, name, dataset_id)
                 SELECT k.id, $1, k.kind, k.namespace, k.name, k.dataset_id
                 FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[])
                      AS k (id, kind, namespace, name, dataset_id)
                 ON CONFLICT (tenant_id, kind, namespace, name)
                 DO UPDATE SET dataset_id = COALESCE(lineage_nodes.dataset_id, EXCLUDED.dataset_id)
                 RETURNING id, kind, namespace, name",
            )
            .bind(tenant.as_str())
            .bind(&new_ids)
            .bind(&kinds)
            .bind(&namespaces)
            .bind(&names)
            .bind(&dataset_ids)
            .fetch_all(&mut *tx)
            .await?;
            for (id, kind, namespace, name) in rows {
                let kind = match kind.as_str() {
                    "job" => "job",
                    "dataset" => "dataset",
                    _ => "column",
                };
                ids.insert((kind, namespace, name), id);
            }
        }
        let id_of = |kind: &'static str, namespace: &str, name: String| {
            ids.get(&(kind, namespace.to_owned(), name)).copied()
        };
        let Some(job_id) = id_of("job", &lineage.job.namespace, lineage.job.name.clone()) else {
            return Err(sqlx::Error::RowNotFound.into());
        };

        let newest: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT max(greatest(valid_from, coalesce(valid_to, valid_from))) FROM lineage_edges WHERE job_id = $1")
                .bind(job_id)
                .fetch_one(&mut *tx)
                .await?;
        if newest.is_some_and(|newest| newest > lineage.event_time) {
            tx.rollback().await?;
            return Ok(LineageChange {
                opened: 0,
                closed: 0,
                stale: true,
            });
        }

        let mut desired: HashSet<(Uuid, Uuid, &'static str)> = HashSet::new();
        for input in &lineage.inputs {
            for output in &lineage.outputs {
                if input == output {
                    continue;
                }
                if let (Some(source), Some(target)) = (
                    id_of("dataset", &input.namespace, input.name.clone()),
                    id_of("dataset", &output.namespace, output.name.clone()),
                ) {
                    desired.insert((source, target, "table"));
                }
            }
        }
        for link in &lineage.columns {
            let source = id_of(
                "column",
                &link.source.dataset.namespace,
                format!("{}.{}", link.source.dataset.name, link.source.column),
            );
            let target = id_of(
                "column",
                &link.target.dataset.namespace,
                format!("{}.{}", link.target.dataset.name, link.target.column),
            );
            if let (Some(source), Some(target)) = (source, target)
                && source != target
            {
                let kind = match link.kind {
                    crate::lineage::EdgeKind::Direct => "direct",
                    crate::lineage::EdgeKind::Expression => "expression",
                    crate::lineage::EdgeKind::Aggregate => "aggregate",
                };
                desired.insert((source, target, kind));
            }
        }

        let current: Vec<(i64, Uuid, Uuid, String)> = sqlx::query_as(
            "SELECT id, source_id, target_id, kind FROM lineage_edges WHERE job_id = $1 AND valid_to IS NULL FOR UPDATE",
        )
        .bind(job_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut kept = HashSet::new();
        let mut to_close = Vec::new();
        for (id, source, target, kind) in current {
            match desired
                .iter()
                .find(|(s, t, k)| *s == source && *t == target && *k == kind)
            {
                Some(edge) => {
                    kept.insert(*edge);
                }
                None => to_close.push(id),
            }
        }
        let closed = sqlx::query("UPDATE lineage_edges SET valid_to = $2 WHERE id = ANY($1)")
            .bind(&to_close)
            .bind(lineage.event_time)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let to_open: Vec<&(Uuid, Uuid, &str)> = desired.iter().filter(|edge| !kept.contains(*edge)).collect();
        let sources: Vec<Uuid> = to_open.iter().map(|edge| edge.0).collect();
        let targets: Vec<Uuid> = to_open.iter().map(|edge| edge.1).collect();
        let kinds: Vec<&str> = to_open.iter().map(|edge| edge.2).collect();
        let opened = sqlx::query(
            "INSERT INTO lineage_edges (tenant_id, source_id, target_id, job_id, kind, origin, valid_from)
             SELECT $1, e.source_id, e.target_id, $5, e.kind, $6, $7
             FROM UNNEST($2::uuid[], $3::uuid[], $4::text[]) AS e (source_id, target_id, kind)",
        )
        .bind(tenant.as_str())
        .bind(&sources)
        .bind(&targets)
        .bind(&kinds)
        .bind(job_id)
        .bind(lineage.origin.as_str())
        .bind(lineage.event_time)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(LineageChange {
            opened,
            closed,
            stale: false,
        })
    }

    /// Finds a dataset node, or a column node when `column` is given.
    pub async fn find_lineage_node(
        &self,
        namespace: &str,
        dataset: &str,
        column: Option<&str>,
    ) -> StoreResult<Option<LineageNode>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let (kind, name) = match column {
            Some(column) => ("column", format!("{dataset}.{column}")),
            None => ("dataset", dataset.to_owned()),
        };
        Ok(sqlx::query_as::<_, LineageNode>(sqlx::AssertSqlSafe(format!(
            "{NODE_SELECT} WHERE n.tenant_id = $1 AND n.kind = $2 AND n.namespace = $3 AND n.name = $4"
        )))
        .bind(tenant.as_str())
        .bind(kind)
        .bind(namespace)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?)
    }

    /// Edges leaving (downstream) or entering (upstream) `frontier`, valid at `as_of`.
    async fn edges_from(
        tx: &mut sqlx::PgConnection,
        tenant: &TenantId,
        frontier: &[Uuid],
        direction: Direction,
        granularity: Granularity,
        as_of: DateTime<Utc>,
    ) -> StoreResult<Vec<LineageEdge>> {
        let column = match direction {
            Direction::Downstream => "source_id",
            Direction::Upstream => "target_id",
        };
        let kind_filter = match granularity {
            Granularity::Table => "e.kind = 'table'",
            Granularity::Column => "e.kind <> 'table'",
        };
        Ok(sqlx::query_as::<_, LineageEdge>(sqlx::AssertSqlSafe(format!(
            "SELECT e.source_id AS source, e.target_id AS target, e.kind, e.origin, j.name AS job,
                    e.valid_from, e.valid_to
             FROM lineage_edges e JOIN lineage_nodes j ON j.id = e.job_id
             WHERE e.tenant_id = $1 AND e.{column} = ANY($2) AND {kind_filter}
               AND e.valid_from <= $3 AND (e.valid_to IS NULL OR e.valid_to > $3)
             ORDER BY e.id"
        )))
        .bind(tenant.as_str())
        .bind(frontier)
        .bind(as_of)
        .fetch_all(tx)
        .await?)
    }

    async fn nodes_by_id(
        tx: &mut sqlx::PgConnection,
        tenant: &TenantId,
        ids: &[Uuid],
    ) -> StoreResult<Vec<LineageNode>> {
        Ok(sqlx::query_as::<_, LineageNode>(sqlx::AssertSqlSafe(format!(
            "{NODE_SELECT} WHERE n.tenant_id = $1 AND n.id = ANY($2)"
        )))
        .bind(tenant.as_str())
        .bind(ids)
        .fetch_all(tx)
        .await?)
    }

    /// Breadth-first walk from `root` up to `depth` edges, over the graph as it was at `as_of`
    /// (one transaction, so the walk sees one state of the graph).
    pub async fn walk_lineage(
        &self,
        root: LineageNode,
        direction: Direction,
        granularity: Granularity,
        depth: u32,
        as_of: DateTime<Utc>,
    ) -> StoreResult<LineageWalk> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let mut depth_of: HashMap<Uuid, u32> = HashMap::from([(root.id, 0)]);
        let mut frontier = vec![root.id];
        let mut edges = Vec::new();
        for level in 1..=depth.min(MAX_DEPTH) {
            if frontier.is_empty() {
                break;
            }
            let found = Self::edges_from(&mut tx, tenant, &frontier, direction, granularity, as_of).await?;
            frontier = Vec::new();
            for edge in found {
                let next = match direction {
                    Direction::Downstream => edge.target,
                    Direction::Upstream => edge.source,
                };
                if let std::collections::hash_map::Entry::Vacant(entry) = depth_of.entry(next) {
                    entry.insert(level);
                    frontier.push(next);
                }
                edges.push(edge);
            }
        }
        let ids: Vec<Uuid> = depth_of.keys().copied().filter(|id| *id != root.id).collect();
        let mut nodes: Vec<ReachedNode> = Self::nodes_by_id(&mut tx, tenant, &ids)
            .await?
            .into_iter()
            .map(|node| ReachedNode {
                depth: depth_of.get(&node.id).copied().unwrap_or(0),
                node,
            })
            .collect();
        nodes.sort_by(|a, b| {
            (a.depth, &a.node.namespace, &a.node.dataset, &a.node.column).cmp(&(
                b.depth,
                &b.node.namespace,
                &b.node.dataset,
                &b.node.column,
            ))
        });
        Ok(LineageWalk {
            root,
            as_of,
            nodes,
            edges,
        })
    }

    /// The shortest downstream path from `from` to `to` at `as_of` (column edges between columns,
    /// table edges between datasets), as the nodes along it; `None` when there is none.
    pub async fn lineage_path(
        &self,
        from: &LineageNode,
        to: &LineageNode,
        as_of: DateTime<Utc>,
    ) -> StoreResult<Option<Vec<LineageNode>>> {
        let tenant = self.tenant_id();
        let mut tx = self.begin().await?;
        let granularity = if from.kind == "column" {
            Granularity::Column
        } else {
            Granularity::Table
        };
        let mut parent: HashMap<Uuid, Uuid> = HashMap::new();
        let mut seen: HashSet<Uuid> = HashSet::from([from.id]);
        let mut queue = VecDeque::from([from.id]);
        let mut found = from.id == to.id;
        for _ in 0..MAX_DEPTH {
            if found || queue.is_empty() {
                break;
            }
            let frontier: Vec<Uuid> = queue.drain(..).collect();
            for edge in Self::edges_from(
                &mut tx,
                tenant,
                &frontier,
                Direction::Downstream,
                granularity,
                as_of,
            )
            .await?
            {
                if seen.insert(edge.target) {
                    parent.insert(edge.target, edge.source);
                    queue.push_back(edge.target);
                    found |= edge.target == to.id;
                }
            }
        }
        if !found {
            return Ok(None);
        }
        let mut path = vec![to.id];
        while let Some(previous) = path.last().and_then(|id| parent.get(id)) {
            path.push(*previous);
        }
        path.reverse();
        let nodes = Self::nodes_by_id(&mut tx, tenant, &path).await?;
        let by_id: HashMap<Uuid, LineageNode> = nodes.into_iter().map(|node| (node.id, node)).collect();
        Ok(Some(
            path.iter().filter_map(|id| by_id.get(id).cloned()).collect(),
        ))
    }
}
