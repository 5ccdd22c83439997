// File: document_text.h
// The text a person would read in a document (PDF, Word, Excel,
// PowerPoint, OpenDocument, plain text), so the content scanner can look for card numbers
// and health data in files as it does in messages (docs/media.md, CHAN-04).
//
// Parsing a file from the internet is the riskiest thing the gateway does:
// poppler and libarchive have had memory-safety bugs. ExtractTextIsolated
// therefore parses in a child process (this binary's `extract-text`
// command) with memory, CPU and file limits, no inherited environment (no
// master key), and its output bounded; a crash or a bomb costs the child
// only. ExtractText, in-process, is what the child runs, and what unit
// tests call.
//
// Thread-safety: the functions are safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cs::docscan {

enum class Format { kUnsupported, kPlainText, kPdf, kOoxml, kOpenDocument, kImage };

// The format a WhatsApp document type is parsed as. Legacy Office files
// (OLE2: .doc, .xls, .ppt) are kUnsupported: nothing reads them here.
// Pictures WhatsApp sends (JPEG, PNG, WebP stickers) are kImage: their
// text is recognised (OCR).
Format FormatOf(std::string_view mime_type);

struct Limits {
  int64_t max_text_bytes = 8 << 20;     // more text than this is refused, not cut: the rest would go unscanned
  int64_t max_part_bytes = 64 << 20;    // one uncompressed part of an Office file (zip bombs)
  int64_t max_parts = 4000;             // parts of an Office file
  int64_t max_pages = 5000;             // PDF pages
  int64_t max_ocr_pages = 8;            // pages of a scanned PDF recognised (about 1 s of CPU each)
  int64_t max_image_pixels = 40'000'000;  // a picture, or a page rendered for recognition
};

// Extracts the text of `bytes`, in this process. Errors (all
// failed_precondition, for "the document cannot be scanned"):
// "document_unreadable" (damaged, not the format), "document_encrypted",
// "document_too_large" (a limit above), "document_unsupported".
Result<std::string> ExtractText(Format format, std::string_view bytes, const Limits& limits = {});

// Runs the PDF reader once on a tiny document and keeps one document
// open, so that poppler's tables are loaded and stay loaded, loads the
// text recognition model and the time zone data: the child forbids every
// file afterwards (but poppler's character maps).
void WarmUpReaders();

struct IsolationOptions {
  std::string executable;               // this binary (it must have the `extract-text` command)
  int64_t timeout_ms = 60000;           // wall time (more than the CPU limit: children share the cores)
  int64_t max_memory_bytes = 1LL << 30;  // RLIMIT_AS of the child (not applied under AddressSanitizer)
  int64_t max_cpu_seconds = 20;
  Limits limits;
};

// ExtractText in a child process. Besides ExtractText's errors:
// "document_unscannable" when the child was killed (time, memory) or
// failed otherwise; unavailable "extractor_unavailable" when it could not
// be started.
Result<std::string> ExtractTextIsolated(std::string_view mime_type, std::string_view bytes,
                                        const IsolationOptions& options);

// The child's side (`consentry extract-text --type MIME`): applies the
// limits to itself, reads the document from standard input, writes its text
// to standard output, and ends the process with the exit code
// ExtractTextIsolated reads.
[[noreturn]] void RunExtractTextChild(std::string_view mime_type, const IsolationOptions& options);

// `consentry extract-text --probe-sandbox`: enters the child's sandbox as
// RunExtractTextChild does, tries what it must not be able to do (a socket,
// reading or creating a file, executable memory, a new process or program,
// signalling another process, writing another descriptor), and writes a
// line per attempt ("NAME refused" or "NAME ALLOWED") to standard output.
[[noreturn]] void RunSandboxProbeChild(const IsolationOptions& options);

}  // namespace cs::docscan
