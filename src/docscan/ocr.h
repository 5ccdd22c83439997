// File: ocr.h
// Text recognised in pictures (Tesseract, English model): photos and
// screenshots customers send, and the pages of scanned PDFs, which hold no
// text of their own. Internal to docscan: document_text.cc calls it, in the
// sandboxed child. Only ocr.cc includes Tesseract and Leptonica.
//
// Thread-safety: one recognition at a time per process (the engine is
// shared); the child reads one document.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cs::docscan {

// Loads the recognition model (a file): done by the warm-up, before the
// child forbids files. False when the model is not installed.
bool WarmUpOcr();

// The text of a grey picture of `width` x `height` pixels, one byte each,
// `stride` bytes a row, at `dpi`. Errors: "document_unscannable" when the
// engine is not loaded or recognition fails; "document_too_large" for a
// side over 32767 pixels; "document_no_text" when the text recognised is
// too uncertain (mean word confidence under 40).
Result<std::string> RecognizePixels(const unsigned char* pixels, int width, int height, int stride, int dpi);

// The text of an encoded picture (JPEG, PNG, WebP, GIF, BMP, TIFF), its
// transparency over white. Errors as RecognizePixels', and
// "document_unreadable" (not a picture it can decode), "document_too_large"
// (more than `max_pixels`).
Result<std::string> RecognizeEncodedImage(std::string_view bytes, int64_t max_pixels);

}  // namespace cs::docscan
