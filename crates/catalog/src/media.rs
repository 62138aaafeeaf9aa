//! Turning an upload into safe, web-ready renditions: only real JPEG, PNG or WebP
//! images are accepted; a pixel-count limit defeats decompression bombs; re-encoding
//! drops every piece of metadata (EXIF, GPS, ICC comments); each rendition is WebP.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// 40 megapixels: more than any product photo needs, far less than a bomb decodes to.
pub const MAX_PIXELS: u64 = 40_000_000;
pub const RENDITION_WIDTHS: [u32; 3] = [160, 480, 1200];

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("the file is not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("the image is {0} pixels; at most 40 million are accepted")]
    TooManyPixels(u64),
    #[error("the image could not be decoded")]
    Corrupt,
}

pub struct Processed {
    /// Content address of the upload (hex).
    pub key: String,
    pub width: u32,
    pub height: u32,
    /// `(file name, WebP bytes)` per rendition width.
    pub renditions: Vec<(String, Vec<u8>)>,
}

pub fn rendition_name(key: &str, width: u32) -> String {
    format!("{key}-{width}.webp")
}

pub fn process(bytes: &[u8]) -> Result<Processed, MediaError> {
    let reader = || {
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
        limits.max_alloc = Some(512 * 1024 * 1024);
        r.limits(limits);
        Ok(r)
    };
    // Read the header first: the pixel count is known before a single pixel is decoded.
    let (width, height) = reader()?
        .into_dimensions()
        .map_err(|_| MediaError::Corrupt)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(MediaError::TooManyPixels(pixels));
    }
    let image = reader()?.decode().map_err(|_| MediaError::Corrupt)?;
    let key = hex::encode(&Sha256::digest(bytes)[..16]);
    let mut renditions = Vec::new();
    for target in RENDITION_WIDTHS {
        let sized = if width > target {
            let h = (u64::from(height) * u64::from(target) / u64::from(width)).max(1);
            image.resize(
                target,
                u32::try_from(h).unwrap_or(u32::MAX),
                image::imageops::FilterType::Triangle,
            )
        } else {
            image.clone()
        };
        let mut out = Cursor::new(Vec::new());
        sized
            .to_rgba8()
            .write_to(&mut out, ImageFormat::WebP)
            .map_err(|_| MediaError::Corrupt)?;
        renditions.push((rendition_name(&key, target), out.into_inner()));
    }
    Ok(Processed {
        key,
        width,
        height,
        renditions,
    })
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
