//! The tantivy index of published products: one document per product, full text with
//! typo tolerance, filters and facet counts from fast fields.
//!
//! Writes are group-committed: a change is applied to the writer, then its caller waits
//! for a commit that covers it (one commit serves every change that arrived meanwhile),
//! so an event is acknowledged only once its change is durable and searchable.

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
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};
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
        };
        doc.add_text(f.card, serde_json::to_string(&card)?);
        Ok(doc)
    }

    /// Every word must match the title or the other text: exactly after stemming
    /// (ranked highest), or — when the word itself is in no document, so it is likely
    /// misspelt — within its typo distance of an unstemmed word; the last may also be
    /// the start of a word. (Expanding words that do occur would only rescan their own
    /// postings: on a million products that tripled the cost of common words.)
    fn text_query(
        &self,
        searcher: &tantivy::Searcher,
        text: &str,
        last_is_prefix: bool,
    ) -> Option<Box<dyn Query>> {
        // Both analysers split alike (same tokenizer, filters that never drop a word),
        // so the i-th stem and the i-th plain word are the same word.
        let stems = words(analyzer(), text);
        let plains = words(plain_analyzer(), text);
        if stems.is_empty() || stems.len() != plains.len() {
            return None;
        }
        let last = stems.len() - 1;
        let f = self.fields;
        let boosted = |q: Box<dyn Query>, boost: f32| -> (Occur, Box<dyn Query>) {
            (Occur::Should, Box::new(BoostQuery::new(q, boost)))
        };
        let clauses = stems
            .iter()
            .zip(&plains)
            .enumerate()
            .map(|(i, (stem, plain))| {
                let mut options = Vec::new();
                let known = [f.title, f.text].into_iter().any(|field| {
                    searcher
                        .doc_freq(&Term::from_field_text(field, stem))
                        .is_ok_and(|n| n > 0)
                });
                for (stemmed, unstemmed, boost) in
                    [(f.title, f.title_plain, 4.0), (f.text, f.text_plain, 1.0)]
                {
                    let exact = Term::from_field_text(stemmed, stem);
                    options.push(boosted(
                        Box::new(TermQuery::new(exact, IndexRecordOption::WithFreqs)),
                        boost,
                    ));
                    let term = Term::from_field_text(unstemmed, plain);
                    let distance = domain::typo_distance(plain);
                    if distance > 0 && !known {
                        options.push(boosted(
                            Box::new(FuzzyTermQuery::new(term.clone(), distance, true)),
                            boost * 0.3,
                        ));
                    }
                    if last_is_prefix && i == last {
                        options.push(boosted(
                            Box::new(FuzzyTermQuery::new_prefix(term, 0, true)),
                            boost * 0.5,
                        ));
                    }
                }
                (
                    Occur::Must,
                    Box::new(BooleanQuery::new(options)) as Box<dyn Query>,
                )
            })
            .collect();
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    fn any_of(field: Field, values: &[String]) -> Box<dyn Query> {
        Box::new(BooleanQuery::new(
            values
                .iter()
                .map(|v| {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(
                            Term::from_field_text(field, v),
                            IndexRecordOption::Basic,
                        )) as Box<dyn Query>,
                    )
                })
                .collect(),
        ))
    }

    /// The filters of `req`, leaving out one facet's own (for its disjunctive counts).
    fn filters(
        &self,
        req: &SearchRequest,
        except: Option<FacetKind>,
    ) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.fields;
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(c) = req.category
            && except != Some(FacetKind::Category)
        {
            out.push((Occur::Must, Self::any_of(f.category, &[c.to_string()])));
        }
        if !req.stores.is_empty() && except != Some(FacetKind::Store) {
            out.push((Occur::Must, Self::any_of(f.store, &req.stores)));
        }
        if !req.brands.is_empty() && except != Some(FacetKind::Brand) {
            out.push((Occur::Must, Self::any_of(f.brand, &req.brands)));
        }
        if (req.min_price.is_some() || req.max_price.is_some()) && except != Some(FacetKind::Price)
        {
            let bound = |v: Option<i64>, inclusive: bool| match v {
                None => Bound::Unbounded,
                Some(v) if inclusive => Bound::Included(Term::from_field_i64(f.price, v)),
                Some(v) => Bound::Excluded(Term::from_field_i64(f.price, v)),
            };
            out.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    bound(req.min_price, true),
                    bound(req.max_price, true),
                )),
            ));
        }
        for (name, values) in &req.attributes {
            if except.as_ref() == Some(&FacetKind::Attribute(name.clone())) {
                continue;
            }
            let terms: Vec<String> = values
                .iter()
                .filter_map(|v| domain::attribute_term(name, &serde_json::Value::String(v.clone())))
                .collect();
            out.push((Occur::Must, Self::any_of(f.attr, &terms)));
        }
        if req.in_stock_only && except != Some(FacetKind::Availability) {
            let sold_out = self.sold_out_terms();
            if !sold_out.is_empty() {
                out.push((Occur::MustNot, Box::new(TermSetQuery::new(sold_out))));
            }
        }
        if let Ok(suspended) = self.suspended.read() {
            for store in suspended.iter() {
                out.push((
                    Occur::MustNot,
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.store_id, &store.to_string()),
                        IndexRecordOption::Basic,
                    )),
                ));
            }
        }
        out
    }

    fn query(
        &self,
        text: Option<Box<dyn Query>>,
        filters: Vec<(Occur, Box<dyn Query>)>,
    ) -> BooleanQuery {
        let mut clauses = filters;
        clauses.push((Occur::Must, text.unwrap_or_else(|| Box::new(AllQuery))));
        BooleanQuery::new(clauses)
    }

    /// [`Self::search`], answered from recent results when nothing visible changed
    /// since; `key` is the request in a canonical form.
    pub fn search_cached(
        &self,
        req: &SearchRequest,
        key: String,
    ) -> anyhow::Result<Arc<SearchResults>> {
        // Read before searching: a change committed meanwhile files these results
        // under the old state, which nobody asks for again.
        let state = self.visible.load(Ordering::SeqCst);
        if let Some(hit) = self.results.get(&(state, key.clone())) {
            return Ok(hit);
        }
        let results = Arc::new(self.search(req)?);
        self.results.insert((state, key), results.clone());
        Ok(results)
    }

    pub fn search(&self, req: &SearchRequest) -> anyhow::Result<SearchResults> {
        let searcher = self.reader.searcher();
        let text = self.text_query(&searcher, &req.text, false);
        let has_text = text.is_some();
        let main = self.query(text, self.filters(req, None));
        let limit = req.per_page;
        let offset = req.offset();
        let top = TopDocs::with_limit(limit).and_offset(offset);
        let all_facets = AggregationCollector::from_aggs(
            facet_aggregations(&FacetKind::all()),
            AggregationLimitsGuard::default(),
        );
        let (total, addresses, aggs): (usize, Vec<DocAddress>, _) = match (req.sort, has_text) {
            (Sort::Relevance, true) => {
                let (n, hits, aggs) = searcher.search(&main, &(Count, top, all_facets))?;
                (n, hits.into_iter().map(|(_, a)| a).collect(), aggs)
            }
            (Sort::PriceAsc | Sort::PriceDesc, _) => {
                let order = if req.sort == Sort::PriceAsc {
                    Order::Asc
                } else {
                    Order::Desc
                };
                let (n, hits, aggs) = searcher.search(
                    &main,
                    &(
                        Count,
                        top.order_by_fast_field::<i64>("price", order),
                        all_facets,
                    ),
                )?;
                (n, hits.into_iter().map(|(_, a)| a).collect(), aggs)
            }
            (Sort::Newest | Sort::Relevance, _) => {
                let (n, hits, aggs) = searcher.search(
                    &main,
                    &(
                        Count,
                        top.order_by_fast_field::<i64>("published", Order::Desc),
                        all_facets,
                    ),
                )?;
                (n, hits.into_iter().map(|(_, a)| a).collect(), aggs)
            }
        };
        let mut facets = Facets::default();
        read_facets(&serde_json::to_value(&aggs)?, &mut facets, None);
        // A facet with a chosen value counts as if it were not chosen.
        for kind in FacetKind::filtered(req) {
            let q = self.query(
                self.text_query(&searcher, &req.text, false),
                self.filters(req, Some(kind.clone())),
            );
            let collector = AggregationCollector::from_aggs(
                facet_aggregations(std::slice::from_ref(&kind)),
                AggregationLimitsGuard::default(),
            );
            let aggs = searcher.search(&q, &collector)?;
            read_facets(&serde_json::to_value(&aggs)?, &mut facets, Some(&kind));
        }
        facets.availability = self.availability_counts(&searcher, req, total as u64)?;
        let items = addresses
            .into_iter()
            .map(|a| self.card(&searcher, a))
            .collect::<anyhow::Result<_>>()?;
        Ok(SearchResults {
            total: total as u64,
            page: req.page,
            per_page: req.per_page,
            items,
            facets,
        })
    }

    /// How many matches (ignoring an in-stock filter) can be bought and how many are
    /// sold out; `total` is the count of the request as asked.
    fn availability_counts(
        &self,
        searcher: &tantivy::Searcher,
        req: &SearchRequest,
        total: u64,
    ) -> anyhow::Result<AvailabilityCounts> {
        let sold_out = self.sold_out_terms();
        if sold_out.is_empty() {
            return Ok(AvailabilityCounts {
                in_stock: total,
                out_of_stock: 0,
            });
        }
        let base = || {
            self.query(
                self.text_query(searcher, &req.text, false),
                self.filters(req, Some(FacetKind::Availability)),
            )
        };
        let all = if req.in_stock_only {
            searcher.search(&base(), &Count)? as u64
        } else {
            total
        };
        let sold = BooleanQuery::new(vec![
            (Occur::Must, Box::new(base()) as Box<dyn Query>),
            (Occur::Must, Box::new(TermSetQuery::new(sold_out))),
        ]);
        let out = searcher.search(&sold, &Count)? as u64;
        Ok(AvailabilityCounts {
            in_stock: all.saturating_sub(out),
            out_of_stock: out,
        })
    }

    /// Search-as-you-type: products whose words start with what was typed, and the
    /// brands and categories among them that match it.
    pub fn suggest(&self, typed: &str, limit: usize) -> anyhow::Result<Suggestions> {
        let searcher = self.reader.searcher();
        let Some(text) = self.text_query(&searcher, typed, true) else {
            return Ok(Suggestions::default());
        };
        let q = self.query(Some(text), self.filters(&SearchRequest::default(), None));
        let hits = searcher.search(&q, &TopDocs::with_limit(limit * 4))?;
        let words: Vec<String> = typed.split_whitespace().map(|w| w.to_lowercase()).collect();
        let matches = |name: &str| {
            let name = name.to_lowercase();
            words
                .iter()
                .all(|w| name.split_whitespace().any(|n| n.starts_with(w.as_str())))
        };
        let mut out = Suggestions::default();
        for (_, address) in hits {
            let card = self.card(&searcher, address)?;
            if let Some(brand) = &card.brand
                && matches(brand)
                && !out.brands.contains(brand)
                && out.brands.len() < 3
            {
                out.brands.push(brand.clone());
            }
            if let (Some(id), Some(name)) = (card.category_id, card.category_names.last())
                && matches(name)
                && !out.categories.iter().any(|c| c.id == id)
                && out.categories.len() < 3
            {
                out.categories.push(CategorySuggestion {
                    id,
                    name: name.clone(),
                });
            }
            if out.products.len() < limit {
                out.products.push(card);
            }
        }
        Ok(out)
    }

    fn card(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
    ) -> anyhow::Result<ProductCard> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let json = doc
            .get_first(self.fields.card)
            .and_then(|v| v.as_str())
            .ok_or_else(|| anyhow::anyhow!("indexed product without its card"))?;
        let mut card: ProductCard = serde_json::from_str(json)?;
        if let Ok(id) = kernel::ids::parse_prefixed(&card.id, "prd")
            && let Ok(sold_out) = self.sold_out.read()
        {
            card.in_stock = !sold_out.contains(&id);
        }
        Ok(card)
    }
}

fn poisoned() -> anyhow::Error {
    anyhow::anyhow!("the search index writer is poisoned by an earlier panic")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum FacetKind {
    Category,
    Brand,
    Store,
    Price,
    Attribute(String),
    /// Only ever left out of the filters, to count sold-out matches.
    Availability,
}

impl FacetKind {
    fn all() -> Vec<FacetKind> {
        vec![
            Self::Category,
            Self::Brand,
            Self::Store,
            Self::Price,
            Self::Attribute(String::new()),
        ]
    }

    /// Facets the request filters on.
    fn filtered(req: &SearchRequest) -> Vec<FacetKind> {
        let mut out = Vec::new();
        if req.category.is_some() {
            out.push(Self::Category);
        }
        if !req.brands.is_empty() {
            out.push(Self::Brand);
        }
        if !req.stores.is_empty() {
            out.push(Self::Store);
        }
        if req.min_price.is_some() || req.max_price.is_some() {
            out.push(Self::Price);
        }
        out.extend(req.attributes.keys().cloned().map(Self::Attribute));
        out
    }
}

fn facet_aggregations(kinds: &[FacetKind]) -> Aggregations {
    let mut req = serde_json::Map::new();
    for kind in kinds {
        let (name, agg) = match kind {
            FacetKind::Availability => continue,
            FacetKind::Category => (
                "category",
                serde_json::json!({"terms": {"field": "category", "size": 500}}),
            ),
            FacetKind::Brand => (
                "brand",
                serde_json::json!({"terms": {"field": "brand", "size": 30}}),
            ),
            FacetKind::Store => (
                "store",
                serde_json::json!({"terms": {"field": "store", "size": 30}}),
            ),
            FacetKind::Attribute(_) => (
                "attr",
                serde_json::json!({"terms": {"field": "attr", "size": 300}}),
            ),
            FacetKind::Price => {
                let ranges: Vec<serde_json::Value> = domain::price_bucket_bounds()
                    .into_iter()
                    .map(|(from, to)| {
                        let mut r = serde_json::Map::new();
                        if let Some(from) = from {
                            r.insert("from".into(), serde_json::json!(from as f64));
                        }
                        if let Some(to) = to {
                            r.insert("to".into(), serde_json::json!(to as f64));
                        }
                        serde_json::Value::Object(r)
                    })
                    .collect();
                (
                    "price",
                    serde_json::json!({"range": {"field": "price", "ranges": ranges}}),
                )
            }
        };
        req.insert(name.to_owned(), agg);
    }
    // The requests above are fixed and valid; an empty set of aggregations is the
    // harmless fallback should tantivy ever reject one.
    serde_json::from_value(serde_json::Value::Object(req)).unwrap_or_default()
}

fn buckets<'a>(
    aggs: &'a serde_json::Value,
    name: &str,
) -> impl Iterator<Item = &'a serde_json::Value> {
    aggs.get(name)
        .and_then(|a| a.get("buckets"))
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
}

fn terms(aggs: &serde_json::Value, name: &str) -> Vec<FacetValue> {
    buckets(aggs, name)
        .filter_map(|b| {
            Some(FacetValue {
                value: b.get("key")?.as_str()?.to_owned(),
                count: b.get("doc_count")?.as_u64()?,
            })
        })
        .filter(|v| v.count > 0)
        .collect()
}

/// Fills `facets` from an aggregation result; with `only`, just that facet (and for an
/// attribute, just that attribute's values).
fn read_facets(aggs: &serde_json::Value, facets: &mut Facets, only: Option<&FacetKind>) {
    let wants =
        |k: &FacetKind| only.is_none_or(|o| std::mem::discriminant(o) == std::mem::discriminant(k));
    if wants(&FacetKind::Category) {
        facets.categories = terms(aggs, "category");
    }
    if wants(&FacetKind::Brand) {
        facets.brands = terms(aggs, "brand");
    }
    if wants(&FacetKind::Store) {
        facets.stores = terms(aggs, "store");
    }
    if wants(&FacetKind::Price) {
        facets.prices = buckets(aggs, "price")
            .filter_map(|b| {
                Some(PriceBucket {
                    min: b.get("from").and_then(|v| v.as_f64()).map(|v| v as i64),
                    max: b.get("to").and_then(|v| v.as_f64()).map(|v| v as i64),
                    count: b.get("doc_count")?.as_u64()?,
                })
            })
            .collect();
    }
    let attribute = match only {
        None => None,
        Some(FacetKind::Attribute(name)) => Some(name.as_str()),
        Some(_) => return,
    };
    let mut grouped: BTreeMap<String, Vec<FacetValue>> = BTreeMap::new();
    for v in terms(aggs, "attr") {
        if let Some((name, value)) = v.value.split_once('=')
            && attribute.is_none_or(|a| a == name)
        {
            grouped
                .entry(name.to_owned())
                .or_default()
                .push(FacetValue {
                    value: value.to_owned(),
                    count: v.count,
                });
        }
    }
    match attribute {
        None => facets.attributes = grouped,
        Some(name) => {
            facets
                .attributes
                .insert(name.to_owned(), grouped.remove(name).unwrap_or_default());
        }
    }
}
