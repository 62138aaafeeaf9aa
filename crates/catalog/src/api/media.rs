//! Image uploads and their renditions.

use std::sync::Arc;

use axum::Extension;
use axum::extract::Multipart;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::auth::AuthUser;
use kernel::http::Path;
use kernel::http::{Json, Problem};
use kernel::media::MediaStore;
use utoipa::ToSchema;

use contracts::catalog::media::{MediaView, Rendition};

use super::{Result, TAG};
use crate::Error;
use crate::media::{self, MAX_UPLOAD_BYTES, MediaError, RENDITION_WIDTHS};

/// The multipart body of an upload: the one `file` part (`deny_unknown_fields` makes
/// the document say so; the handler reads the parts itself).
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct MediaUpload {
    /// The image: JPEG, PNG or WebP, at most 10 MiB.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

fn media_problem(e: &MediaError) -> Problem {
    let code = match e {
        MediaError::NotAnImage => "not_an_image",
        MediaError::TooManyPixels(_) | MediaError::TooManyBytes(_) | MediaError::TooTall(..) => {
            "image_too_large"
        }
        MediaError::Corrupt => "corrupt_image",
        MediaError::Failed(_) => return Problem::internal(e),
    };
    Problem::validation(vec![kernel::http::FieldError::new(
        "file",
        code,
        e.to_string(),
    )])
}

/// Upload an image (multipart field `file`, at most 10 MiB, JPEG, PNG or WebP): a
/// product's, by its store's people, or a review's photo, by a customer whose email is
/// verified. Answers the WebP renditions. Uploads are decoded a
/// few at a time; when too many are already in hand the answer is 503 `uploads_busy`
/// with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/catalog/media", tag = TAG, security(("bearer" = [])),
    request_body(content = MediaUpload, content_type = "multipart/form-data", description = "Field `file`: the image"),
    responses((status = 201, body = MediaView), (status = 403, body = Problem), (status = 413, body = Problem),
              (status = 422, body = Problem, description = "not_an_image / image_too_large / corrupt_image"),
              (status = 503, body = Problem, description = "uploads_busy")))]
pub async fn upload(
    Extension(store): Extension<Arc<dyn MediaStore>>,
    AuthUser(claims): AuthUser,
    mut multipart: Multipart,
) -> Result<impl IntoResponse> {
    // Unverified accounts cost nothing to make: they upload nothing.
    if !claims.is_admin() && claims.stores.is_empty() && !claims.email_verified {
        return Err(Error::forbidden());
    }
    // Taken before the body is read, held until the answer: bodies waiting for a decode
    // are bounded too.
    let Some(_slot) = media::admit() else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "uploads_busy",
            "Too many images are being processed; try again in a moment",
        )
        .retry_after(2)
        .into());
    };
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "Images are limited to {} MiB",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            ),
        )
    };
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large().into()),
            Err(e) => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_multipart",
                    e.body_text(),
                )
                .into());
            }
        };
        if field.name() == Some("file") {
            let bytes = field.bytes().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "malformed_multipart",
                        e.body_text(),
                    )
                }
            })?;
            if bytes.len() > MAX_UPLOAD_BYTES {
                return Err(too_large().into());
            }
            file = Some(bytes);
        } else {
            // The form is documented closed: an unknown part is a mistake to report,
            // not something to skip.
            let name = field.name().unwrap_or_default().to_owned();
            return Err(Problem::validation(vec![kernel::http::FieldError::new(
                name,
                "unknown_field",
                "the upload takes one part, named file",
            )])
            .into());
        }
    }
    let Some(bytes) = file else {
        return Err(Problem::validation(vec![kernel::http::FieldError::new(
            "file",
            "required",
            "send the image in a multipart field named file",
        )])
        .into());
    };
    // Decoding and encoding are CPU work off the async workers, a few at a time.
    let processed = media::process_bounded(bytes)
        .await
        .map_err(|e| media_problem(&e))?;
    for (name, data) in processed.renditions {
        store
            .put(&name, data)
            .await
            .map_err(|e| Problem::internal(&e))?;
    }
    let view = MediaView {
        renditions: RENDITION_WIDTHS
            .iter()
            .map(|w| Rendition {
                width: *w,
                url: format!("/media/{}", media::rendition_name(&processed.key, *w)),
            })
            .collect(),
        key: processed.key,
        width: processed.width,
        height: processed.height,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// `GET /media/{name}`: immutable, so cached for a year; the name is the validator.
pub async fn serve(
    Extension(store): Extension<Arc<dyn MediaStore>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let etag = format!("\"{name}\"");
    let cache = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ),
        (
            header::ETAG,
            HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
        ),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    match store.get(&name).await {
        Ok(Some(bytes)) => (
            cache,
            [(header::CONTENT_TYPE, HeaderValue::from_static("image/webp"))],
            bytes,
        )
            .into_response(),
        Ok(None) => Problem::not_found("media").into_response(),
        Err(e) => Problem::internal(&e).into_response(),
    }
}
