//! The tantivy index of published products: one document per product, full text with
//! typo tolerance, filters and facet counts from fast fields.
//!
//! Writes are group-committed: a change is applied to the writer, then its caller waits
//! for a commit that covers it (one commit serves every change that arrived meanwhile),
//! so an event is acknowledged only once its change is durable and searchable.

mod facets;
mod query;
mod ratings;

use facets::{FacetKind, facet_aggregations, read_facets};

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use contracts::catalog::events::ProductPublished;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggregationCollector, AggregationLimitsGuard};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use tantivy::{DocId, Score, SegmentReader};
use tokio::sync::{Mutex, RwLock as AsyncRwLock, RwLockReadGuard};
use uuid::Uuid;

use contracts::search::dto::*;

use crate::domain::{self, SearchRequest, Sort};

/// Stemmed words, for exact matches that forgive plurals and tenses.
const ANALYZER: &str = "emporium";
/// The same words unstemmed, for typo tolerance: a stem is too far from a misspelling
/// of the whole word ("ceramik" is one edit from "ceramic", two from its stem "ceram").
const PLAIN_ANALYZER: &str = "emporium_plain";
/// Memory the writer may fill before it flushes a segment (split over its threads).
const WRITER_MEMORY: usize = 96 * 1024 * 1024;
const WRITER_THREADS: usize = 2;
/// Memory the kept result pages may take, roughly.
const RESULTS_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// A rough size of `results` in memory, for bounding the results cache by bytes.
fn approximate_bytes(results: &SearchResults) -> u32 {
    let cards: usize = results
        .items
        .iter()
        .map(|c| {
            200 + c.title.len() + c.slug.len() + c.store_name.len() + 40 * c.category_names.len()
        })
        .sum();
    let f = &results.facets;
    let values = f.categories.len()
        + f.brands.len()
        + f.stores.len()
        + f.attributes.values().map(Vec::len).sum::<usize>();
    u32::try_from(256 + cards + 64 * values + 48 * f.prices.len()).unwrap_or(u32::MAX)
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    store_id: Field,
    store: Field,
    brand: Field,
    category: Field,
    attr: Field,
    price: Field,
    published: Field,
    /// The product id's two halves: the last sort key of every order, so products
    /// with equal keys come in the same order on every replica and every page.
    id_hi: Field,
    id_lo: Field,
    title: Field,
    text: Field,
    title_plain: Field,
    text_plain: Field,
    card: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let plain = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(PLAIN_ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING),
        store_id: b.add_text_field("store_id", STRING | FAST),
        store: b.add_text_field("store", STRING | FAST),
        brand: b.add_text_field("brand", STRING | FAST),
        category: b.add_text_field("category", STRING | FAST),
        attr: b.add_text_field("attr", STRING | FAST),
        price: b.add_i64_field("price", INDEXED | FAST),
        published: b.add_i64_field("published", FAST),
        id_hi: b.add_u64_field("id_hi", FAST),
        id_lo: b.add_u64_field("id_lo", FAST),
        title: b.add_text_field("title", text.clone()),
        text: b.add_text_field("text", text),
        title_plain: b.add_text_field("title_plain", plain.clone()),
        text_plain: b.add_text_field("text_plain", plain),
        card: b.add_text_field("card", STORED),
    };
    (b.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::default())
        .build()
}

fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The words of `text` as `analyzer` makes them, each once, at most
/// [`domain::MAX_QUERY_TERMS`].
fn words(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token().text.clone();
        if !out.contains(&t) {
            out.push(t);
        }
        if out.len() == domain::MAX_QUERY_TERMS {
            break;
        }
    }
    out
}

/// A change waiting for its commit, by sequence number.
struct Commits {
    /// Sequence of the last change applied to the writer.
    applied: AtomicU64,
    /// Everything up to here is committed and visible.
    committed: AtomicU64,
    /// Changes up to here were lost to a failed commit; their callers must retry.
    discarded: AtomicU64,
    /// Held while committing, so one commit serves every caller waiting on it.
    gate: Mutex<()>,
}

pub struct ProductIndex {
    reader: IndexReader,
    index: Index,
    /// Opened on the first change, so a process that only reads (or replays other
    /// services' dead letters) does not take the index's single-writer lock.
    writer: OnceLock<RwLock<IndexWriter>>,
    writer_init: std::sync::Mutex<()>,
    fields: Fields,
    commits: Commits,
    /// Changes hold it shared; a full rebuild holds it exclusively, so no change slips
    /// between its "delete everything" and its commit.
    rebuild: AsyncRwLock<()>,
    suspended: RwLock<HashSet<Uuid>>,
    /// Products whose tracked variants are all sold out.
    sold_out: RwLock<HashSet<Uuid>>,
    /// Customers' ratings of products (reviews' events).
    ratings: ratings::Ratings,
    /// Grows whenever what searches see changes (a commit, a store suspended or back),
    /// so cached results of an older state are never served.
    visible: AtomicU64,
    /// Recent results by visible state and query: popular searches and facet clicks
    /// repeat far more often than the index changes.
    results: moka::sync::Cache<(u64, String), Arc<SearchResults>>,
}

/// A held right to change the index; dropped once the change is committed.
pub struct ChangeGuard<'a> {
    _shared: RwLockReadGuard<'a, ()>,
}

/// Where a full rebuild reads its documents from, a page at a time.
#[async_trait::async_trait]
pub trait DocumentSource: Send {
    /// The next page; `None` once all were read.
    async fn next_page(&mut self) -> anyhow::Result<Option<Vec<ProductPublished>>>;
}

impl ProductIndex {
    /// Opens the index kept in `dir`, creating it (or recreating it, when it was built
    /// with another schema: it is derived data) as needed.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let index = match Index::open_or_create(MmapDirectory::open(dir)?, schema.clone()) {
            Ok(index) => index,
            Err(tantivy::TantivyError::SchemaError(reason)) => {
                tracing::warn!(%reason, "search index has another schema; rebuilding it");
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                Index::create_in_dir(dir, schema)?
            }
            Err(e) => return Err(e.into()),
        };
        Self::from_index(index, fields)
    }

    fn from_index(index: Index, fields: Fields) -> anyhow::Result<Self> {
        index.tokenizers().register(ANALYZER, analyzer());
        index
            .tokenizers()
            .register(PLAIN_ANALYZER, plain_analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            reader,
            index,
            writer: OnceLock::new(),
            writer_init: std::sync::Mutex::new(()),
            fields,
            commits: Commits {
                applied: AtomicU64::new(0),
                committed: AtomicU64::new(0),
                discarded: AtomicU64::new(0),
                gate: Mutex::new(()),
            },
            rebuild: AsyncRwLock::new(()),
            suspended: RwLock::new(HashSet::new()),
            sold_out: RwLock::new(HashSet::new()),
            ratings: Arc::default(),
            visible: AtomicU64::new(0),
            results: moka::sync::Cache::builder()
                .weigher(|_, r: &Arc<SearchResults>| approximate_bytes(r))
                .max_capacity(RESULTS_CACHE_BYTES)
                .time_to_live(std::time::Duration::from_secs(300))
                .build(),
        })
    }

    /// The writer, opened (and the directory's lock taken) on first use.
    fn writer(&self) -> anyhow::Result<&RwLock<IndexWriter>> {
        if let Some(w) = self.writer.get() {
            return Ok(w);
        }
        let _init = self.writer_init.lock().map_err(|_| poisoned())?;
        if self.writer.get().is_none() {
            let writer = self
                .index
                .writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY)
                .map_err(|e| match e {
                    tantivy::TantivyError::LockFailure(..) => anyhow::anyhow!(
                        "the search index is in use by another emporium process (a running \
                         server?): stop it, or point SEARCH_INDEX_DIR elsewhere; a running \
                         server reindexes on POST /api/v1/search/reindex"
                    ),
                    e => e.into(),
                })?;
            let _ = self.writer.set(RwLock::new(writer));
        }
        self.writer.get().ok_or_else(poisoned)
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Hides (or shows again) every product of `store` at once.
    pub fn set_store_suspended(&self, store: Uuid, suspended: bool) {
        if let Ok(mut set) = self.suspended.write() {
            self.visible.fetch_add(1, Ordering::SeqCst);
            if suspended {
                set.insert(store);
            } else {
                set.remove(&store);
            }
        }
    }

    /// Marks a product sold out (or back in stock) at once.
    pub fn set_sold_out(&self, product: Uuid, sold_out: bool) {
        if let Ok(mut set) = self.sold_out.write() {
            self.visible.fetch_add(1, Ordering::SeqCst);
            if sold_out {
                set.insert(product);
            } else {
                set.remove(&product);
            }
        }
    }

    pub fn set_sold_out_products(&self, products: impl IntoIterator<Item = Uuid>) {
        if let Ok(mut set) = self.sold_out.write() {
            self.visible.fetch_add(1, Ordering::SeqCst);
            *set = products.into_iter().collect();
        }
    }

    fn sold_out_terms(&self) -> Vec<Term> {
        self.sold_out
            .read()
            .map(|set| set.iter().map(|p| self.id_term(*p)).collect())
            .unwrap_or_default()
    }

    pub fn set_suspended_stores(&self, stores: impl IntoIterator<Item = Uuid>) {
        if let Ok(mut set) = self.suspended.write() {
            self.visible.fetch_add(1, Ordering::SeqCst);
            *set = stores.into_iter().collect();
        }
    }

    /// Waits until no rebuild is running, then allows changes until the guard drops.
    pub async fn begin_change(&self) -> ChangeGuard<'_> {
        ChangeGuard {
            _shared: self.rebuild.read().await,
        }
    }

    /// Replaces the product's document; returns the sequence to [`Self::commit`].
    pub fn upsert(&self, p: &ProductPublished) -> anyhow::Result<u64> {
        let writer = self.writer()?.read().map_err(|_| poisoned())?;
        writer.delete_term(self.id_term(p.product_id.0));
        writer.add_document(self.document(p)?)?;
        Ok(self.commits.applied.fetch_add(1, Ordering::SeqCst) + 1)
    }

    pub fn delete(&self, product: Uuid) -> anyhow::Result<u64> {
        let writer = self.writer()?.read().map_err(|_| poisoned())?;
        writer.delete_term(self.id_term(product));
        Ok(self.commits.applied.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// Returns once the change numbered `seq` is committed and visible to searches.
    pub async fn commit(self: &Arc<Self>, seq: u64) -> anyhow::Result<()> {
        let _gate = self.commits.gate.lock().await;
        if self.commits.discarded.load(Ordering::SeqCst) >= seq
            && self.commits.committed.load(Ordering::SeqCst) < seq
        {
            anyhow::bail!("the search index lost this change to a failed commit");
        }
        if self.commits.committed.load(Ordering::SeqCst) >= seq {
            return Ok(());
        }
        let target = self.commits.applied.load(Ordering::SeqCst);
        let me = self.clone();
        let outcome = tokio::task::spawn_blocking(move || me.commit_now()).await?;
        match outcome {
            Ok(()) => {
                self.commits.committed.store(target, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                self.commits.discarded.store(target, Ordering::SeqCst);
                if let Some(Ok(mut w)) = self.writer.get().map(RwLock::write) {
                    let _ = w.rollback();
                }
                Err(e)
            }
        }
    }

    fn commit_now(&self) -> anyhow::Result<()> {
        self.writer()?.write().map_err(|_| poisoned())?.commit()?;
        self.reader.reload()?;
        self.visible.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Replaces the whole index with `pages` of documents, committing once at the end:
    /// searches see the old index until then. Changes wait meanwhile.
    pub async fn rebuild(self: &Arc<Self>, source: &mut dyn DocumentSource) -> anyhow::Result<u64> {
        let _exclusive = self.rebuild.write().await;
        let _gate = self.commits.gate.lock().await;
        self.writer()?
            .read()
            .map_err(|_| poisoned())?
            .delete_all_documents()?;
        let mut count = 0u64;
        let result: anyhow::Result<()> = async {
            while let Some(page) = source.next_page().await? {
                let writer = self.writer()?.read().map_err(|_| poisoned())?;
                for p in &page {
                    writer.add_document(self.document(p)?)?;
                }
                count += page.len() as u64;
            }
            Ok(())
        }
        .await;
        let target = self.commits.applied.load(Ordering::SeqCst);
        let me = self.clone();
        let committed = match result {
            Ok(()) => tokio::task::spawn_blocking(move || me.commit_now()).await?,
            Err(e) => Err(e),
        };
        match committed {
            Ok(()) => {
                self.commits.committed.store(target, Ordering::SeqCst);
                Ok(count)
            }
            Err(e) => {
                if let Some(Ok(mut w)) = self.writer.get().map(RwLock::write) {
                    let _ = w.rollback();
                }
                Err(e)
            }
        }
    }

    fn id_term(&self, id: Uuid) -> Term {
        Term::from_field_text(self.fields.id, &id.to_string())
    }

    fn document(&self, p: &ProductPublished) -> anyhow::Result<TantivyDocument> {
        let f = self.fields;
        let store_id = p.store_id.0;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, p.product_id.0.to_string());
        let (hi, lo) = p.product_id.0.as_u64_pair();
        doc.add_u64(f.id_hi, hi);
        doc.add_u64(f.id_lo, lo);
        doc.add_text(f.store_id, store_id.to_string());
        doc.add_text(f.store, &p.store_slug);
        if let Some(brand) = &p.brand {
            doc.add_text(f.brand, brand);
        }
        for c in &p.category_path {
            doc.add_text(f.category, c.to_string());
        }
        let mut attrs = Vec::new();
        if let Some(map) = p.attributes.as_object() {
            for (name, value) in map {
                attrs.extend(domain::attribute_term(name, value));
            }
        }
        if let Some(map) = p.options.as_object() {
            for (name, values) in map {
                for v in values.as_array().into_iter().flatten() {
                    attrs.extend(domain::attribute_term(name, v));
                }
            }
        }
        attrs.sort();
        attrs.dedup();
        for a in &attrs {
            doc.add_text(f.attr, a);
        }
        doc.add_i64(f.price, p.min_price_minor);
        doc.add_i64(
            f.published,
            p.published_at.map_or(0, |t| t.unix_timestamp()),
        );
        doc.add_text(f.title, &p.title);
        doc.add_text(f.title_plain, &p.title);
        let mut text = String::new();
        for part in p
            .brand
            .iter()
            .chain(&p.category_names)
            .chain(&p.tags)
            .chain(std::iter::once(&p.description))
        {
            text.push_str(part);
            text.push('\n');
        }
        for a in &attrs {
            if let Some((_, v)) = a.split_once('=') {
                text.push_str(v);
                text.push('\n');
            }
        }
        doc.add_text(f.text_plain, &text);
        doc.add_text(f.text, text);
        let card = ProductCard {
            id: p.product_id.to_string(),
            slug: p.slug.clone(),
            store_slug: p.store_slug.clone(),
            store_name: p.store_name.clone(),
            title: p.title.clone(),
            brand: p.brand.clone(),
            category_id: p.category_id,
            category_names: p.category_names.clone(),
            currency: p.currency.clone(),
            min_price_minor: p.min_price_minor,
            max_price_minor: p.max_price_minor.max(p.min_price_minor),
            image: p.image.clone(),
            in_stock: true,
            // Read from the ratings overlay whenever the card is shown.
            rating: None,
        };
        doc.add_text(f.card, serde_json::to_string(&card)?);
        Ok(doc)
    }
}

fn poisoned() -> anyhow::Error {
    anyhow::anyhow!("the search index writer is poisoned by an earlier panic")
}
