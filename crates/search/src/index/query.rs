//! Answering searches and suggestions: the text query, filters, facet counts and
//! the cards of one page.

use super::*;

impl ProductIndex {
    /// Every word must match the title or the other text: exactly after stemming
    /// (ranked highest), or — when the word itself is in no document, so it is likely
    /// misspelt — within its typo distance of an unstemmed word; the last may also be
    /// the start of a word. (Expanding words that do occur would only rescan their own
    /// postings: on a million products that tripled the cost of common words.)
    pub(super) fn text_query(
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

    pub(super) fn any_of(field: Field, values: &[String]) -> Box<dyn Query> {
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
    pub(super) fn filters(
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
        if let Some(min_stars) = req.min_rating
            && except != Some(FacetKind::Rating)
        {
            out.push((Occur::Must, self.rating_filter(min_stars)));
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

    pub(super) fn query(
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
        let cached = self.results.get(&(state, key.clone()));
        kernel::cache::record_lookup("search_results", cached.is_some());
        if let Some(hit) = cached {
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
        // Every order ends with the product id (newest first), so equal keys never
        // fall back to where a document happens to sit in this replica's segments.
        let (total, addresses, aggs): (usize, Vec<DocAddress>, _) = match (req.sort, has_text) {
            (Sort::Relevance, true) => {
                let ranked = top.tweak_score(|segment: &SegmentReader| {
                    let id = id_of(segment);
                    move |doc: DocId, score: Score| (score, id(doc))
                });
                let (n, hits, aggs) = searcher.search(&main, &(Count, ranked, all_facets))?;
                (n, hits.into_iter().map(|(_, a)| a).collect(), aggs)
            }
            (Sort::PriceAsc, _) => {
                let ranked = top.custom_score(|segment: &SegmentReader| {
                    let (price, id) = (i64_column(segment, "price"), id_of(segment));
                    move |doc: DocId| (std::cmp::Reverse(price(doc)), id(doc))
                });
                let (n, hits, aggs) = searcher.search(&main, &(Count, ranked, all_facets))?;
                (n, hits.into_iter().map(|(_, a)| a).collect(), aggs)
            }
            (Sort::PriceDesc, _) => {
                let ranked = top.custom_score(|segment: &SegmentReader| {
                    let (price, id) = (i64_column(segment, "price"), id_of(segment));
                    move |doc: DocId| (price(doc), id(doc))
                });
                let (n, hits, aggs) = searcher.search(&main, &(Count, ranked, all_facets))?;
                (n, hits.into_iter().map(|(_, a)| a).collect(), aggs)
            }
            (Sort::Rating, _) => {
                let ratings = self.ratings.clone();
                let ranked = top.custom_score(move |segment: &SegmentReader| {
                    let (rating, id) = (
                        super::ratings::rating_column(&ratings, segment),
                        id_of(segment),
                    );
                    move |doc: DocId| (rating(doc), id(doc))
                });
                let (n, hits, aggs) = searcher.search(&main, &(Count, ranked, all_facets))?;
                (n, hits.into_iter().map(|(_, a)| a).collect(), aggs)
            }
            (Sort::Newest | Sort::Relevance, _) => {
                let ranked = top.custom_score(|segment: &SegmentReader| {
                    let (published, id) = (i64_column(segment, "published"), id_of(segment));
                    move |doc: DocId| (published(doc), id(doc))
                });
                let (n, hits, aggs) = searcher.search(&main, &(Count, ranked, all_facets))?;
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
        facets.ratings = self.rating_counts(&searcher, req)?;
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
    pub(super) fn availability_counts(
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

    pub(super) fn card(
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
        if let Ok(id) = kernel::ids::parse_prefixed(&card.id, "prd") {
            if let Ok(sold_out) = self.sold_out.read() {
                card.in_stock = !sold_out.contains(&id);
            }
            card.rating = self.rating_of(id).map(|r| r.card());
        }
        Ok(card)
    }
}

/// A segment's values of an i64 fast field (0 where a document has none).
fn i64_column(segment: &SegmentReader, name: &str) -> impl Fn(DocId) -> i64 + use<> {
    let column = segment
        .fast_fields()
        .i64(name)
        .ok()
        .map(|c| c.first_or_default_col(0));
    move |doc| column.as_ref().map_or(0, |c| c.get_val(doc))
}

/// A segment's product ids, as the pair of u64 halves they were indexed as.
pub(super) fn id_of(segment: &SegmentReader) -> impl Fn(DocId) -> (u64, u64) + use<> {
    let column = |name: &str| {
        segment
            .fast_fields()
            .u64(name)
            .ok()
            .map(|c| c.first_or_default_col(0))
    };
    let (hi, lo) = (column("id_hi"), column("id_lo"));
    move |doc| {
        (
            hi.as_ref().map_or(0, |c| c.get_val(doc)),
            lo.as_ref().map_or(0, |c| c.get_val(doc)),
        )
    }
}
