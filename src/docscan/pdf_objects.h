// File: pdf_objects.h
// The text a PDF holds outside its pages' content, which poppler's page
// text leaves out and a reader still sees or a program still reads: the
// comments (annotations) of every page, the values, defaults, choices,
// captions and tooltips of form fields (a filled-in payment form keeps its
// card number there), redaction overlays, bookmark titles, the document's
// properties and its XMP metadata. Internal to docscan: document_text.cc
// turns it into text for the scanner.
//
// Thread-safety: safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cs::docscan {

struct PdfObjectTexts {
  std::vector<std::string> values;      // plain values, as a viewer shows them
  std::vector<std::string> rich_texts;  // XHTML: comments' /RC, fields' /RV
  std::string xmp;                      // the XMP metadata packet, if any
};

// Reads `bytes` (a PDF poppler opened, with `pages` pages). Errors
// (failed_precondition): "document_unsupported" when the PDF carries files
// (attachment comments, associated files, rich media) or an XFA form, whose
// content would need a reader of its own; "document_unreadable" when qpdf
// cannot read it, or counts other than `pages` pages (a page one reader
// skips would go unscanned); "document_too_large" past `max_bytes` of text
// or too many objects to walk.
Result<PdfObjectTexts> ReadPdfObjects(std::string_view bytes, int pages, int64_t max_bytes);

}  // namespace cs::docscan
