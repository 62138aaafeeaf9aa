//! Turning an upload into safe, web-ready renditions: only real JPEG, PNG or WebP
//! images are accepted; a pixel-count limit defeats decompression bombs; re-encoding
//! drops every piece of metadata (EXIF, GPS, ICC comments); each rendition is WebP.
//!
//! Decoding is the one expensive step (a 40-megapixel JPEG is 114 MiB of pixels, a
//! progressive one twice that again while it decodes, and about a second of CPU), so it
//! is bounded process-wide: every decode first takes its estimated peak memory
//! ([`Plan::cost`]) from one budget of [`DECODE_BUDGET_BYTES`] and waits while the budget
//! is spent ([`process_bounded`]); at most [`MAX_PENDING_UPLOADS`] uploads are admitted
//! at all ([`admit`]); and no decode may allocate more than [`MAX_DECODE_BYTES`] for its
//! pixels (`image::Limits::max_alloc`).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, SemaphorePermit};

pub use contracts::catalog::media::{MAX_UPLOAD_BYTES, rendition_name};
/// 40 megapixels: more than any product photo needs, far less than a bomb decodes to.
pub const MAX_PIXELS: u64 = 40_000_000;
/// What a decode may allocate for its pixels: 40 megapixels at 4 bytes (RGBA, 8 bits a
/// channel). A 16-bit image needs twice as much per pixel, so it is accepted up to half
/// the pixels.
pub const MAX_DECODE_BYTES: u64 = MAX_PIXELS * 4;
/// Memory that image processing may hold at once in this process, shared by all
/// uploads: three 40-megapixel baseline JPEGs (about 140 MiB each) fit together, a
/// progressive one (about 360 MiB) runs alone, small photos many at a time.
pub const DECODE_BUDGET_BYTES: u64 = 512 * MIB;
/// Uploads admitted at once (reading their body, waiting for their turn or decoding);
/// more are refused with 503 before their body is read, so waiting uploads hold at most
/// this many times [`MAX_UPLOAD_BYTES`].
pub const MAX_PENDING_UPLOADS: usize = 16;
pub const RENDITION_WIDTHS: [u32; 3] = [160, 480, 1200];
/// The tallest image WebP can hold.
const MAX_WEBP_SIDE: u32 = 16_383;
/// The triangle filter keeps an f32 RGBA copy (16 bytes per source column per output
/// row); beyond this, renditions are made by area averaging, which keeps none.
const MAX_FILTER_BYTES: u64 = 32 * MIB;
/// A rendition's pixels, an RGBA copy of them and the WebP encoder's working memory
/// (measured: about 9).
const RENDITION_BYTES_PER_PIXEL: u64 = 12;
/// Allocator and bookkeeping slack per decode, over what [`Plan::cost`] counts.
const COST_SLACK: u64 = 16 * MIB;
const MIB: u64 = 1024 * 1024;

static BUDGET: Semaphore = Semaphore::const_new((DECODE_BUDGET_BYTES / MIB) as usize);
static PENDING: Semaphore = Semaphore::const_new(MAX_PENDING_UPLOADS);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("the file is not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("the image is {0} pixels; at most 40 million are accepted")]
    TooManyPixels(u64),
    #[error(
        "the image needs {0} bytes decoded; at most {MAX_DECODE_BYTES} are accepted (40 megapixels at 8 bits a channel)"
    )]
    TooManyBytes(u64),
    #[error(
        "the image is {0} x {1} pixels; so narrow and tall, its renditions would exceed 16383 pixels in height"
    )]
    TooTall(u32, u32),
    #[error("the image could not be decoded")]
    Corrupt,
    #[error("image processing failed: {0}")]
    Failed(String),
}

/// A place among the uploads being handled; see [`MAX_PENDING_UPLOADS`].
pub struct UploadSlot(#[allow(dead_code)] SemaphorePermit<'static>);

/// Admits one more upload, or `None` when [`MAX_PENDING_UPLOADS`] are already in hand.
pub fn admit() -> Option<UploadSlot> {
    PENDING.try_acquire().ok().map(UploadSlot)
}

/// [`process`] on the blocking pool once its estimated memory ([`Plan::cost`]) fits in
/// what is left of [`DECODE_BUDGET_BYTES`]. The share belongs to the blocking task, so
/// it is given back when the work ends even if the request that asked for it has gone.
pub async fn process_bounded(bytes: bytes::Bytes) -> Result<Processed, MediaError> {
    // Header only (chunks up to the pixels), but still file parsing: off the async workers.
    let header = bytes.clone();
    let plan = tokio::task::spawn_blocking(move || Plan::read(&header))
        .await
        .map_err(|e| MediaError::Failed(e.to_string()))??;
    let share = u32::try_from(plan.cost().div_ceil(MIB))
        .unwrap_or(u32::MAX)
        .clamp(1, (DECODE_BUDGET_BYTES / MIB) as u32);
    let share = BUDGET
        .acquire_many(share)
        .await
        .map_err(|e| MediaError::Failed(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let _share = share;
        render(&bytes, &plan)
    })
    .await
    .map_err(|e| MediaError::Failed(e.to_string()))?
}

pub struct Processed {
    /// Content address of the upload (hex).
    pub key: String,
    pub width: u32,
    pub height: u32,
    /// `(file name, WebP bytes)` per rendition width.
    pub renditions: Vec<(String, Vec<u8>)>,
}

/// What an upload's header says, checked against the limits before any pixel is
/// decoded.
#[derive(Debug, Clone)]
pub struct Plan {
    width: u32,
    height: u32,
    /// Bytes of the decoded pixels.
    decoded: u64,
    /// The decoder's own working memory besides them.
    working: u64,
    /// The upload's size.
    input: u64,
}

impl Plan {
    pub fn read(bytes: &[u8]) -> Result<Self, MediaError> {
        let header = reader(bytes)?
            .into_decoder()
            .map_err(|_| MediaError::Corrupt)?;
        let (width, height) = header.dimensions();
        let decoded = header.total_bytes();
        drop(header);
        let pixels = u64::from(width) * u64::from(height);
        if pixels > MAX_PIXELS {
            return Err(MediaError::TooManyPixels(pixels));
        }
        if decoded > MAX_DECODE_BYTES {
            return Err(MediaError::TooManyBytes(decoded));
        }
        let plan = Self {
            width,
            height,
            decoded,
            working: jpeg_working_bytes(bytes, pixels),
            input: bytes.len() as u64,
        };
        let (_, tallest) = plan.size_at(widest());
        if tallest > MAX_WEBP_SIDE {
            return Err(MediaError::TooTall(width, height));
        }
        Ok(plan)
    }

    /// The size of the rendition `target` pixels wide (the image's own when narrower).
    fn size_at(&self, target: u32) -> (u32, u32) {
        let w = target.min(self.width);
        let h = (u64::from(self.height) * u64::from(w) / u64::from(self.width).max(1)).max(1);
        (w, u32::try_from(h).unwrap_or(u32::MAX))
    }

    /// Whether the image is first area-averaged to twice the widest rendition.
    fn prescaled(&self) -> bool {
        self.width > 2 * widest()
    }

    /// Estimated peak memory of processing this image: the largest of its phases
    /// (decoding; shrinking to the working copy; making the renditions).
    pub fn cost(&self) -> u64 {
        let pixels = (u64::from(self.width) * u64::from(self.height)).max(1);
        let per_pixel = self.decoded.div_ceil(pixels);
        // The reader's copy of the upload and the decoder's.
        let decoding = self.decoded + self.working + 2 * self.input;
        let source = if self.prescaled() {
            let (w, h) = self.size_at(2 * widest());
            u64::from(w) * u64::from(h) * per_pixel
        } else {
            self.decoded
        };
        let shrinking = if self.prescaled() {
            self.decoded + source
        } else {
            0
        };
        let (w, h) = self.size_at(widest());
        let rendering =
            source + u64::from(w) * u64::from(h) * RENDITION_BYTES_PER_PIXEL + MAX_FILTER_BYTES;
        decoding.max(shrinking).max(rendering) + COST_SLACK
    }
}

fn widest() -> u32 {
    RENDITION_WIDTHS.iter().copied().max().unwrap_or(1)
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, MediaError> {
    let mut r = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| MediaError::NotAnImage)?;
    if !matches!(
        r.format(),
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)
    ) {
        return Err(MediaError::NotAnImage);
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    r.limits(limits);
    Ok(r)
}

/// A progressive JPEG keeps every DCT coefficient (2 bytes per sample of each component)
/// until its last scan; a baseline one decodes row by row. Found by walking the marker
/// segments to the frame header; anything unreadable counts as the worst case (four
/// components). Not a JPEG: nothing.
fn jpeg_working_bytes(bytes: &[u8], pixels: u64) -> u64 {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return 0;
    }
    let worst = pixels * 4 * 2;
    let mut i = 2;
    loop {
        if bytes.get(i) != Some(&0xFF) {
            return worst;
        }
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return worst;
        };
        i += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => {}
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): the frame header.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                // length (2), precision (1), height (2), width (2), components (1)
                return match bytes.get(i + 7) {
                    Some(_) if !progressive => 0,
                    Some(&components) => pixels * u64::from(components) * 2,
                    None => worst,
                };
            }
            _ => match (bytes.get(i), bytes.get(i + 1)) {
                (Some(&hi), Some(&lo)) => i += usize::from(u16::from_be_bytes([hi, lo])),
                _ => return worst,
            },
        }
    }
}

/// Checks, decodes and renders at once, unbounded: [`process_bounded`] is what uploads
/// use.
pub fn process(bytes: &[u8]) -> Result<Processed, MediaError> {
    render(bytes, &Plan::read(bytes)?)
}

fn render(bytes: &[u8], plan: &Plan) -> Result<Processed, MediaError> {
    let image = reader(bytes)?.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => MediaError::TooManyBytes(plan.decoded),
        _ => MediaError::Corrupt,
    })?;
    let key = hex::encode(&Sha256::digest(bytes)[..16]);
    // Resampling straight from a large image would make the filter's f32 copy large
    // (about 96 MB from 8000 px to 1200 px). Area-averaging first to twice the widest
    // rendition costs only that copy's pixels, and the full image is freed before the
    // renditions are made.
    let source = if plan.prescaled() {
        let (w, h) = plan.size_at(2 * widest());
        let smaller = image.thumbnail_exact(w, h);
        drop(image);
        smaller
    } else {
        image
    };
    let mut renditions = Vec::new();
    for target in RENDITION_WIDTHS {
        let webp = if plan.width > target {
            let (w, h) = plan.size_at(target);
            encode_webp(&shrink(&source, w, h))?
        } else {
            encode_webp(&source)?
        };
        renditions.push((rendition_name(&key, target), webp));
    }
    Ok(Processed {
        key,
        width: plan.width,
        height: plan.height,
        renditions,
    })
}

/// Shrinks to `w` x `h`: by area averaging from twice the size or more (exact and
/// without a working copy), by the triangle filter below that (area averaging would
/// alias) unless its f32 copy would exceed [`MAX_FILTER_BYTES`].
fn shrink(image: &DynamicImage, w: u32, h: u32) -> DynamicImage {
    let filter_bytes = u64::from(image.width()) * u64::from(h) * 16;
    if image.width() >= 2 * w || filter_bytes > MAX_FILTER_BYTES {
        image.thumbnail_exact(w, h)
    } else {
        image.resize_exact(w, h, image::imageops::FilterType::Triangle)
    }
}

/// WebP (lossless) of the image; 8-bit images as they are, others converted to RGBA.
fn encode_webp(image: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    let mut out = Cursor::new(Vec::new());
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image.write_to(&mut out, ImageFormat::WebP),
        other => DynamicImage::ImageRgba8(other.to_rgba8()).write_to(&mut out, ImageFormat::WebP),
    }
    .map_err(|_| MediaError::Corrupt)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 255) as u8, (y % 255) as u8, 90])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn makes_webp_renditions_no_wider_than_asked() {
        let p = process(&png(800, 400)).unwrap();
        assert_eq!((p.width, p.height), (800, 400));
        assert_eq!(p.renditions.len(), 3);
        for (name, bytes) in &p.renditions {
            assert!(name.ends_with(".webp"));
            let decoded = image::load_from_memory_with_format(bytes, ImageFormat::WebP).unwrap();
            assert!(decoded.width() <= 800);
        }
        let small = image::load_from_memory(&p.renditions[0].1).unwrap();
        assert_eq!((small.width(), small.height()), (160, 80));
        assert_eq!(
            process(&png(800, 400)).unwrap().key,
            p.key,
            "content-addressed"
        );
    }

    #[test]
    fn refuses_non_images_and_bombs() {
        assert_eq!(
            process(b"%PDF-1.7 not an image").err(),
            Some(MediaError::NotAnImage)
        );
        assert_eq!(process(b"GIF89a......").err(), Some(MediaError::NotAnImage));
        // A valid PNG whose header claims 50000 x 50000 pixels (2.5 gigapixels): refused
        // from the header, before any decoding.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&50_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&50_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            process(&bomb).err(),
            Some(MediaError::TooManyPixels(2_500_000_000))
        );
    }

    #[test]
    fn refuses_images_whose_pixels_would_take_too_much_memory() {
        // 6000 x 6000 is under the pixel limit, but as 16-bit RGBA it decodes to 288 MB:
        // refused from the header, before anything is allocated for it.
        let mut deep = png(1, 1);
        deep[16..20].copy_from_slice(&6_000u32.to_be_bytes());
        deep[20..24].copy_from_slice(&6_000u32.to_be_bytes());
        deep[24] = 16; // bit depth
        deep[25] = 6; // RGBA
        let crc = crc32(&deep[12..29]);
        deep[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            process(&deep).err(),
            Some(MediaError::TooManyBytes(6_000 * 6_000 * 8))
        );
    }

    #[test]
    fn large_images_make_renditions_of_the_same_sizes() {
        let p = process(&png(3000, 1000)).unwrap();
        let sizes: Vec<(u32, u32)> = p
            .renditions
            .iter()
            .map(|(_, bytes)| {
                let d = image::load_from_memory(bytes).unwrap();
                (d.width(), d.height())
            })
            .collect();
        assert_eq!(sizes, [(160, 53), (480, 160), (1200, 400)]);
    }

    #[tokio::test]
    async fn bounded_processing_gives_the_same_answer() {
        let bytes = bytes::Bytes::from(png(300, 200));
        let p = process_bounded(bytes.clone()).await.unwrap();
        assert_eq!(p.key, process(&bytes).unwrap().key);
        assert_eq!(
            process_bounded(bytes::Bytes::from_static(b"nope"))
                .await
                .err(),
            Some(MediaError::NotAnImage)
        );
        assert_eq!(
            BUDGET.available_permits() as u64,
            DECODE_BUDGET_BYTES / MIB,
            "every share is given back"
        );
    }

    #[test]
    fn uploads_past_the_pending_limit_are_turned_away() {
        let mut held: Vec<UploadSlot> = (0..MAX_PENDING_UPLOADS).map_while(|_| admit()).collect();
        assert_eq!(held.len(), MAX_PENDING_UPLOADS);
        assert!(admit().is_none());
        held.pop();
        assert!(admit().is_some());
    }

    #[test]
    fn refuses_shapes_whose_renditions_webp_cannot_hold() {
        let mut tall = png(1, 1);
        tall[16..20].copy_from_slice(&100u32.to_be_bytes());
        tall[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let crc = crc32(&tall[12..29]);
        tall[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(process(&tall).err(), Some(MediaError::TooTall(100, 30_000)));
    }

    #[test]
    fn progressive_jpegs_are_costed_for_their_coefficients() {
        let frame = |marker: u8| {
            // SOI, an APP0 segment, then a frame header of 8000 x 5000 with 3 components.
            let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xC2, 0xC2];
            b.extend([0xFF, marker, 0x00, 0x11, 8, 0x13, 0x88, 0x1F, 0x40, 3]);
            b
        };
        let pixels = 40_000_000;
        assert_eq!(jpeg_working_bytes(&frame(0xC0), pixels), 0);
        assert_eq!(jpeg_working_bytes(&frame(0xC2), pixels), pixels * 3 * 2);
        assert_eq!(jpeg_working_bytes(&[0xFF, 0xD8, 0x00], pixels), pixels * 8);
        assert_eq!(jpeg_working_bytes(b"\x89PNG", pixels), 0);

        let plan = |working| Plan {
            width: 8000,
            height: 5000,
            decoded: pixels * 3,
            working,
            input: 4 * MIB,
        };
        let baseline = plan(0).cost();
        let progressive = plan(pixels * 3 * 2).cost();
        assert!(
            baseline < DECODE_BUDGET_BYTES / 3,
            "three baseline 40 MP decodes fit"
        );
        assert!(
            progressive > DECODE_BUDGET_BYTES / 2,
            "a progressive one runs alone"
        );
        assert!(progressive < DECODE_BUDGET_BYTES, "but it runs");
    }

    /// CRC-32 (IEEE) as PNG chunks use it, to forge a well-formed header.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
