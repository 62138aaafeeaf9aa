//! Peak memory of many large uploads at once. Its own test binary (one test, one
//! process), because it reads the process's peak resident set (`VmHWM`, Linux), reset
//! through `/proc/self/clear_refs` once the test image is made.
//!
//! `DECODE_MEMORY_FILE=/path/to/photo.jpg` measures that file instead of the generated
//! 40-megapixel JPEG (e.g. a progressive one made with `cjpeg -progressive`);
//! `DECODE_MEMORY_UNBOUNDED=1` runs the decodes the way uploads ran before they were
//! bounded (all at once), to compare. Run with `--nocapture` to see the figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::time::Instant;

use catalog::operations as media;
use image::ImageFormat;

/// Uploads arriving together.
const UPLOADS: usize = 6;
/// What those uploads may add to the process's peak resident memory: the decode
/// budget, documented in docs/architecture.md ("Catalog").
const CEILING_MIB: u64 = media::DECODE_BUDGET_BYTES / (1024 * 1024);

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A 40-megapixel JPEG (8000 x 5000) with a photo's mix of gradients and noise: about
/// 4 MB, so well inside the 10 MiB upload limit.
fn photo() -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let img = image::RgbImage::from_fn(8000, 5000, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed & 15) as u8;
        image::Rgb([
            (x / 32 % 200) as u8 + n,
            (y / 32 % 200) as u8 + n,
            ((x + y) / 64 % 200) as u8 + n,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_40_megapixel_uploads_at_once_stay_under_the_memory_ceiling() {
    if status_kib("VmHWM").is_none() || std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("no /proc/self/status or clear_refs here: not measured");
        return;
    }
    let bytes = bytes::Bytes::from(match std::env::var("DECODE_MEMORY_FILE") {
        Ok(path) => std::fs::read(path).unwrap(),
        Err(_) => photo(),
    });
    let unbounded = std::env::var_os("DECODE_MEMORY_UNBOUNDED").is_some();
    // Forget the peak of making the test image.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let base = status_kib("VmRSS").unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..UPLOADS)
        .map(|_| {
            let b = bytes.clone();
            tokio::spawn(async move {
                if unbounded {
                    tokio::task::spawn_blocking(move || media::process_image(&b))
                        .await
                        .unwrap()
                } else {
                    media::process_image_bounded(b).await
                }
            })
        })
        .collect();
    for t in tasks {
        let p = t.await.unwrap().unwrap();
        assert_eq!(p.renditions.len(), 3);
    }
    let peak = status_kib("VmHWM").unwrap();
    let added = (peak.saturating_sub(base)) / 1024;
    eprintln!(
        "{UPLOADS} uploads of {} bytes ({}): resident {} MiB before, peak {} MiB (+{added} MiB), {:?}",
        bytes.len(),
        if unbounded { "unbounded" } else { "bounded" },
        base / 1024,
        peak / 1024,
        started.elapsed()
    );
    if !unbounded {
        assert!(
            added <= CEILING_MIB,
            "{UPLOADS} concurrent 40 MP decodes added {added} MiB; the ceiling is {CEILING_MIB} MiB"
        );
    }
}
