//! Lineage graph of a whole script: statement results are merged in order, then table-level
//! sources/targets and end-to-end column edges (first source to final target) are read off it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::EdgeKind;
use super::names::Dataset;

/// What a column belongs to: a dataset, or a subquery/CTE of the script (by id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Parent {
    Dataset(Dataset),
    SubQuery(usize),
}

/// A column node of the lineage graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum ColumnNode {
    /// A column attributed to exactly one parent.
    Resolved { parent: Parent, name: String },
    /// A column that could belong to any (or none) of the candidate parents.
    Unresolved { name: String, candidates: Vec<Parent> },
}

impl ColumnNode {
    pub(super) fn resolved(parent: Parent, name: impl Into<String>) -> Self {
        ColumnNode::Resolved {
            parent,
            name: name.into(),
        }
    }

    pub(super) fn name(&self) -> &str {
        match self {
            ColumnNode::Resolved { name, .. } | ColumnNode::Unresolved { name, .. } => name,
        }
    }

    fn parent(&self) -> Option<&Parent> {
        match self {
            ColumnNode::Resolved { parent, .. } => Some(parent),
            ColumnNode::Unresolved { .. } => None,
        }
    }
}

/// The lineage one statement contributes to the script.
#[derive(Debug, Default)]
pub(super) struct StatementLineage {
    pub(super) reads: BTreeSet<Dataset>,
    pub(super) writes: BTreeSet<Dataset>,
    pub(super) drops: Vec<Dataset>,
    pub(super) renames: Vec<(Dataset, Dataset)>,
    pub(super) column_edges: Vec<(ColumnNode, ColumnNode, EdgeKind)>,
    /// Columns known to exist on a parent, in the order they were seen.
    pub(super) known_columns: Vec<(Parent, String)>,
}

impl StatementLineage {
    /// Adds another statement's lineage (statements of one stored procedure count as one).
    pub(super) fn absorb(&mut self, other: StatementLineage) {
        self.reads.extend(other.reads);
        self.writes.extend(other.writes);
        self.drops.extend(other.drops);
        self.renames.extend(other.renames);
        self.column_edges.extend(other.column_edges);
        self.known_columns.extend(other.known_columns);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.reads.is_empty()
            && self.writes.is_empty()
            && self.drops.is_empty()
            && self.renames.is_empty()
            && self.column_edges.is_empty()
    }
}

/// Ordered set of column names per parent.
#[derive(Debug, Default)]
pub(super) struct KnownColumns {
    by_parent: HashMap<Parent, (Vec<String>, HashSet<String>)>,
}

impl KnownColumns {
    pub(super) fn insert(&mut self, parent: &Parent, name: &str) {
        let (ordered, seen) = self.by_parent.entry(parent.clone()).or_default();
        if seen.insert(name.to_string()) {
            ordered.push(name.to_string());
        }
    }

    pub(super) fn remove(&mut self, parent: &Parent, name: &str) {
        if let Some((ordered, seen)) = self.by_parent.get_mut(parent)
            && seen.remove(name)
        {
            ordered.retain(|known| known != name);
        }
    }

    pub(super) fn contains(&self, parent: &Parent, name: &str) -> bool {
        self.by_parent
            .get(parent)
            .is_some_and(|(_, seen)| seen.contains(name))
    }

    /// Adds another set's columns (a nested query level closing into its parent).
    pub(super) fn absorb(&mut self, other: KnownColumns) {
        for (parent, (ordered, _)) in other.by_parent {
            for name in ordered {
                self.insert(&parent, &name);
            }
        }
    }

    pub(super) fn of(&self, parent: &Parent) -> &[String] {
        self.by_parent
            .get(parent)
            .map_or(&[], |(ordered, _)| ordered.as_slice())
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct TableTags {
    source_only: bool,
    target_only: bool,
}

/// One end-to-end column edge with the strongest transformation on its least transformed path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct EndToEndEdge {
    pub(super) source: String,
    pub(super) target: String,
    pub(super) kind: EdgeKind,
}

/// The merged lineage of a script.
#[derive(Debug, Default)]
pub(super) struct ScriptGraph {
    tables: BTreeMap<Dataset, TableTags>,
    table_edges: BTreeSet<(Dataset, Dataset)>,
    column_edges: HashMap<(ColumnNode, ColumnNode), EdgeKind>,
    known_columns: KnownColumns,
    /// Tables that have columns in the graph: a DROP keeps them (their node has edges).
    tables_with_columns: HashSet<Dataset>,
    /// Display name of each subquery/CTE id.
    subquery_names: Vec<String>,
}

impl ScriptGraph {
    /// Registers a subquery or CTE and returns its id.
    pub(super) fn new_subquery(&mut self, name: Option<String>) -> usize {
        let id = self.subquery_names.len();
        self.subquery_names
            .push(name.unwrap_or_else(|| format!("subquery_{id}")));
        id
    }

    /// Merges one statement, following the order of the script.
    pub(super) fn merge(&mut self, statement: StatementLineage) {
        for dataset in statement.reads.iter().chain(statement.writes.iter()) {
            self.tables.entry(dataset.clone()).or_default();
        }
        for (source, target, kind) in statement.column_edges {
            for node in [&source, &target] {
                if let Some(parent) = node.parent() {
                    self.known_columns.insert(parent, node.name());
                    if let Parent::Dataset(dataset) = parent {
                        self.tables_with_columns.insert(dataset.clone());
                    }
                }
            }
            let entry = self.column_edges.entry((source, target)).or_insert(kind);
            *entry = (*entry).min(kind);
        }
        for (parent, name) in &statement.known_columns {
            self.known_columns.insert(parent, name);
            if let Parent::Dataset(dataset) = parent {
                self.tables_with_columns.insert(dataset.clone());
            }
        }
        if !statement.drops.is_empty() {
            for dataset in &statement.drops {
                if !self.has_table_edges(dataset) && !self.tables_with_columns.contains(dataset) {
                    self.tables.remove(dataset);
                }
            }
        } else if !statement.renames.is_empty() {
            for (old, new) in &statement.renames {
                self.rename(old, new);
            }
        } else {
            let (reads, writes) = (&statement.reads, &statement.writes);
            if writes.is_empty() {
                for dataset in reads {
                    self.tag(dataset).source_only = true;
                }
            } else if reads.is_empty() {
                for dataset in writes {
                    self.tag(dataset).target_only = true;
                }
            } else {
                for read in reads {
                    for write in writes {
                        self.table_edges.insert((read.clone(), write.clone()));
                    }
                }
            }
        }
    }

    fn tag(&mut self, dataset: &Dataset) -> &mut TableTags {
        self.tables.entry(dataset.clone()).or_default()
    }

    fn has_table_edges(&self, dataset: &Dataset) -> bool {
        self.table_edges
            .iter()
            .any(|(source, target)| source == dataset || target == dataset)
    }

    fn rename(&mut self, old: &Dataset, new: &Dataset) {
        let edges: Vec<(Dataset, Dataset)> = self.table_edges.iter().cloned().collect();
        self.table_edges.clear();
        for (source, target) in edges {
            let source = if &source == old { new.clone() } else { source };
            let target = if &target == old { new.clone() } else { target };
            if source != *new || target != *new {
                self.table_edges.insert((source, target));
            }
        }
        self.tables.remove(old);
        if self.tables_with_columns.remove(old) {
            self.tables_with_columns.insert(new.clone());
        }
        if self.has_table_edges(new) || self.tables_with_columns.contains(new) {
            self.tables.entry(new.clone()).or_default();
        } else {
            self.tables.remove(new);
        }
    }

    /// Tables read by the script that no statement of it produced, plus self-loops and tables
    /// only ever read.
    pub(super) fn source_tables(&self) -> Vec<String> {
        self.select_tables(|incoming, outgoing, tags| (!incoming && outgoing) || tags.source_only)
    }

    /// Tables written by the script that no later statement read, plus self-loops and tables
    /// only ever written.
    pub(super) fn target_tables(&self) -> Vec<String> {
        self.select_tables(|incoming, outgoing, tags| (incoming && !outgoing) || tags.target_only)
    }

    fn select_tables(&self, keep: impl Fn(bool, bool, &TableTags) -> bool) -> Vec<String> {
        let mut with_incoming: HashSet<&Dataset> = HashSet::new();
        let mut with_outgoing: HashSet<&Dataset> = HashSet::new();
        let mut selfloops: HashSet<&Dataset> = HashSet::new();
        for (source, target) in &self.table_edges {
            with_outgoing.insert(source);
            with_incoming.insert(target);
            if source == target {
                selfloops.insert(source);
            }
        }
        self.tables
            .iter()
            .filter(|(dataset, tags)| {
                selfloops.contains(dataset)
                    || keep(
                        with_incoming.contains(dataset),
                        with_outgoing.contains(dataset),
                        tags,
                    )
            })
            .map(|(dataset, _)| dataset.to_string())
            .collect()
    }

    /// Display form of a column node as the contract prints it.
    fn column_display(&self, node: &ColumnNode) -> String {
        match node {
            ColumnNode::Resolved { parent, name } => match parent {
                Parent::Dataset(Dataset::Table(table)) => format!("{table}.{name}"),
                Parent::Dataset(Dataset::Path(_)) => name.clone(),
                Parent::SubQuery(id) => match self.subquery_names.get(*id) {
                    Some(alias) => format!("{alias}.{name}"),
                    None => name.clone(),
                },
            },
            ColumnNode::Unresolved { name, .. } => name.clone(),
        }
    }

    /// Attributes columns that had several candidate parents to the candidates known (anywhere
    /// in the script) to hold a column of that name.
    fn resolve_ambiguous_columns(&mut self) {
        let ambiguous: Vec<(ColumnNode, ColumnNode, EdgeKind)> = self
            .column_edges
            .iter()
            .filter(|((source, _), _)| {
                matches!(source, ColumnNode::Unresolved { candidates, .. } if candidates.len() > 1)
            })
            .map(|((source, target), kind)| (source.clone(), target.clone(), *kind))
            .collect();
        for (source, target, kind) in ambiguous {
            let ColumnNode::Unresolved { name, candidates } = &source else {
                continue;
            };
            let found: Vec<Parent> = candidates
                .iter()
                .filter(|parent| self.known_columns.contains(parent, name))
                .cloned()
                .collect();
            if found.is_empty() {
                continue;
            }
            self.column_edges.remove(&(source.clone(), target.clone()));
            for parent in found {
                let resolved = ColumnNode::resolved(parent, name.clone());
                let entry = self
                    .column_edges
                    .entry((resolved, target.clone()))
                    .or_insert(kind);
                *entry = (*entry).min(kind);
            }
        }
    }

    /// End-to-end column edges: from every column with no incoming lineage (or on a self-loop)
    /// to every table column it reaches that feeds nothing further (or is on a self-loop).
    pub(super) fn end_to_end_edges(&mut self) -> Vec<EndToEndEdge> {
        self.resolve_ambiguous_columns();

        // Index the nodes so the walk works on integers.
        let mut index: HashMap<&ColumnNode, usize> = HashMap::new();
        let mut nodes: Vec<&ColumnNode> = Vec::new();
        fn lookup<'n>(
            node: &'n ColumnNode,
            index: &mut HashMap<&'n ColumnNode, usize>,
            nodes: &mut Vec<&'n ColumnNode>,
        ) -> usize {
            if let Some(found) = index.get(node) {
                return *found;
            }
            let id = nodes.len();
            nodes.push(node);
            index.insert(node, id);
            id
        }
        let mut edges: Vec<(usize, usize, EdgeKind)> = Vec::with_capacity(self.column_edges.len());
        for ((source, target), kind) in &self.column_edges {
            let s = lookup(source, &mut index, &mut nodes);
            let t = lookup(target, &mut index, &mut nodes);
            edges.push((s, t, *kind));
        }
        let count = nodes.len();
        let mut outgoing: Vec<Vec<(usize, EdgeKind)>> = vec![Vec::new(); count];
        let mut in_degree = vec![0usize; count];
        let mut selfloop: Vec<Option<EdgeKind>> = vec![None; count];
        for &(s, t, kind) in &edges {
            in_degree[t] += 1;
            if s == t {
                selfloop[s] = Some(kind);
            } else {
                outgoing[s].push((t, kind));
            }
        }
        for list in &mut outgoing {
            list.sort_unstable();
        }
        let is_target: Vec<bool> = (0..count)
            .map(|n| {
                let table_column = matches!(nodes[n].parent(), Some(Parent::Dataset(Dataset::Table(_))));
                table_column && (outgoing[n].is_empty() || selfloop[n].is_some())
            })
            .collect();

        // reach[n]: targets reachable from n, with the least transformed path kind.
        let reach = reachable_targets(&outgoing, &is_target);

        let mut result: BTreeSet<EndToEndEdge> = BTreeSet::new();
        for n in 0..count {
            let has_out = !outgoing[n].is_empty() || selfloop[n].is_some();
            let is_source = (in_degree[n] == 0 && has_out) || selfloop[n].is_some();
            if !is_source {
                continue;
            }
            let source = self.column_display(nodes[n]);
            for (&t, &kind) in &reach[n] {
                result.insert(EndToEndEdge {
                    source: source.clone(),
                    target: self.column_display(nodes[t]),
                    kind,
                });
            }
            if let Some(kind) = selfloop[n]
                && is_target[n]
            {
                result.insert(EndToEndEdge {
                    source: source.clone(),
                    target: source.clone(),
                    kind,
                });
            }
        }
        // Collapse duplicates that differ only by kind, keeping the least transformed.
        let mut best: BTreeMap<(String, String), EdgeKind> = BTreeMap::new();
        for edge in result {
            let entry = best.entry((edge.source, edge.target)).or_insert(edge.kind);
            *entry = (*entry).min(edge.kind);
        }
        best.into_iter()
            .map(|((source, target), kind)| EndToEndEdge { source, target, kind })
            .collect()
    }
}

/// For every node, the target nodes reachable over one or more edges, each with the smallest
/// (least transformed) path kind, where a path's kind is the largest kind along it. Iterative
/// post-order walk, so long chains of temporary tables cannot overflow the stack; nodes on a
/// cycle see what the walk had finished when it reached them.
fn reachable_targets(
    outgoing: &[Vec<(usize, EdgeKind)>],
    is_target: &[bool],
) -> Vec<BTreeMap<usize, EdgeKind>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Open,
        Done,
    }
    let count = outgoing.len();
    let mut reach: Vec<BTreeMap<usize, EdgeKind>> = vec![BTreeMap::new(); count];
    let mut state = vec![State::New; count];
    for root in 0..count {
        if state[root] != State::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = State::Open;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&(child, _)) = outgoing[node].get(*next) {
                *next += 1;
                if state[child] == State::New {
                    state[child] = State::Open;
                    stack.push((child, 0));
                }
                continue;
            }
            // All children visited: fold their reach into this node.
            let mut merged: BTreeMap<usize, EdgeKind> = BTreeMap::new();
            for &(child, kind) in &outgoing[node] {
                if is_target[child] {
                    let entry = merged.entry(child).or_insert(kind);
                    *entry = (*entry).min(kind);
                }
                if state[child] == State::Open && child != node {
                    continue;
                }
                for (&target, &child_kind) in &reach[child] {
                    let path_kind = kind.max(child_kind);
                    let entry = merged.entry(target).or_insert(path_kind);
                    *entry = (*entry).min(path_kind);
                }
            }
            reach[node] = merged;
            state[node] = State::Done;
            stack.pop();
        }
    }
    reach
}
