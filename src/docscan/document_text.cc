// Text extraction in this process: poppler-cpp for PDF, libarchive and
// libxml2 for Office Open XML. Only this file includes them.
#include "docscan/document_text.h"

#include <archive.h>
#include <archive_entry.h>
#include <libxml/xmlreader.h>
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <memory>
#include <mutex>
#include <vector>

namespace cs::docscan {

namespace {

Status Unreadable(std::string what) { return FailedPrecondition("document_unreadable", std::move(what)); }
Status TooLarge(std::string what) { return FailedPrecondition("document_too_large", std::move(what)); }

// Appends to the text, refusing (not cutting) past the limit: a cut would
// leave the rest of the document unscanned yet passed.
class TextSink {
 public:
  explicit TextSink(int64_t limit) : limit_(limit) {}
  Status Append(std::string_view s) {
    if (static_cast<int64_t>(text_.size() + s.size()) > limit_) {
      return TooLarge("the document holds more than " + std::to_string(limit_) + " bytes of text");
    }
    text_.append(s);
    return Status::Ok();
  }
  std::string Take() { return std::move(text_); }

 private:
  int64_t limit_;
  std::string text_;
};

Result<std::string> PdfText(std::string_view bytes, const Limits& limits) {
  // poppler reports damage on stderr by default; the caller reports it instead.
  static std::once_flag quiet;
  std::call_once(quiet, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return TooLarge("the PDF is too large");
  std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (doc == nullptr) return Unreadable("the PDF cannot be read");
  if (doc->is_locked()) return FailedPrecondition("document_encrypted", "the PDF is protected by a password");
  const int pages = doc->pages();
  if (pages > limits.max_pages) return TooLarge("the PDF has more than " + std::to_string(limits.max_pages) + " pages");
  TextSink sink(limits.max_text_bytes);
  for (int i = 0; i < pages; ++i) {
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    if (page == nullptr) return Unreadable("a page of the PDF cannot be read");
    poppler::byte_array utf8 = page->text().to_utf8();
    CS_RETURN_IF_ERROR(sink.Append(std::string_view(utf8.data(), utf8.size())));
    CS_RETURN_IF_ERROR(sink.Append("\n"));
  }
  return sink.Take();
}

// The parts of an Office file that hold what a reader sees: the body,
// headers, footers, notes and comments of a document; the strings and cell
// values of a workbook; the slides and notes of a presentation.
bool IsTextPart(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (!ends_with(".xml")) return false;
  for (std::string_view prefix : {"word/", "xl/", "ppt/"}) {
    if (name.substr(0, prefix.size()) != prefix) continue;
    // Formatting, not content.
    for (std::string_view skip : {"styles", "theme", "fontTable", "settings", "webSettings", "numbering",
                                  "slideLayouts/", "slideMasters/", "printerSettings", "calcChain"}) {
      if (name.find(skip) != std::string_view::npos) return false;
    }
    return true;
  }
  return false;
}

// The character data of one XML part. A paragraph, a table cell, a shared
// string and a break end with a newline, so words of separate cells do not
// run together while a number split over formatting runs is joined again.
Status XmlText(const std::string& xml, TextSink& sink) {
  // No network, no DTD loading, entities left as references (XXE).
  std::unique_ptr<xmlTextReader, void (*)(xmlTextReaderPtr)> reader(
      xmlReaderForMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                                                      XML_PARSE_NOWARNING),
      xmlFreeTextReader);
  if (reader == nullptr) return Unreadable("a part of the Office file cannot be read");
  int rc = 0;
  while ((rc = xmlTextReaderRead(reader.get())) == 1) {
    const int type = xmlTextReaderNodeType(reader.get());
    if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
        type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
      const xmlChar* value = xmlTextReaderConstValue(reader.get());
      if (value != nullptr) CS_RETURN_IF_ERROR(sink.Append(reinterpret_cast<const char*>(value)));
      continue;
    }
    const bool ends = type == XML_READER_TYPE_END_ELEMENT ||
                      (type == XML_READER_TYPE_ELEMENT && xmlTextReaderIsEmptyElement(reader.get()) == 1);
    if (!ends) continue;
    const xmlChar* local = xmlTextReaderConstLocalName(reader.get());
    const std::string_view name = local != nullptr ? reinterpret_cast<const char*>(local) : "";
    if (name == "p" || name == "tc" || name == "c" || name == "si" || name == "br" || name == "cr") {
      CS_RETURN_IF_ERROR(sink.Append("\n"));
    } else if (name == "tab") {
      CS_RETURN_IF_ERROR(sink.Append("\t"));
    }
  }
  if (rc != 0) return Unreadable("a part of the Office file is not well-formed XML");
  return Status::Ok();
}

Result<std::string> OoxmlText(std::string_view bytes, const Limits& limits) {
  std::unique_ptr<archive, int (*)(archive*)> zip(archive_read_new(), archive_read_free);
  if (zip == nullptr) return Internal("libarchive: out of memory");
  archive_read_support_format_zip(zip.get());
  if (archive_read_open_memory(zip.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return Unreadable("the Office file is not a readable zip archive");
  }
  TextSink sink(limits.max_text_bytes);
  int64_t parts = 0;
  bool any = false;
  archive_entry* entry = nullptr;
  while (true) {
    const int rc = archive_read_next_header(zip.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      // An encrypted zip entry or a damaged archive.
      if (archive_entry_is_encrypted(entry)) return FailedPrecondition("document_encrypted", "the Office file is encrypted");
      return Unreadable("the Office file's archive is damaged");
    }
    if (++parts > limits.max_parts) return TooLarge("the Office file has too many parts");
    const char* raw_name = archive_entry_pathname(entry);
    const std::string name = raw_name != nullptr ? raw_name : "";
    if (!IsTextPart(name)) continue;
    if (archive_entry_is_encrypted(entry)) return FailedPrecondition("document_encrypted", "the Office file is encrypted");
    std::string xml;
    char buffer[16384];
    while (true) {
      const la_ssize_t n = archive_read_data(zip.get(), buffer, sizeof buffer);
      if (n < 0) return Unreadable("a part of the Office file cannot be decompressed");
      if (n == 0) break;
      if (static_cast<int64_t>(xml.size()) + n > limits.max_part_bytes) {
        return TooLarge("a part of the Office file decompresses to more than " + std::to_string(limits.max_part_bytes) +
                        " bytes");
      }
      xml.append(buffer, static_cast<size_t>(n));
    }
    CS_RETURN_IF_ERROR(XmlText(xml, sink));
    any = true;
  }
  // An Office file always has a body part: without one it is something else in a zip.
  if (!any) return Unreadable("the Office file has no document, workbook or presentation part");
  return sink.Take();
}

}  // namespace

Format FormatOf(std::string_view mime_type) {
  if (mime_type == "text/plain") return Format::kPlainText;
  if (mime_type == "application/pdf") return Format::kPdf;
  if (mime_type.substr(0, 46) == "application/vnd.openxmlformats-officedocument.") return Format::kOoxml;
  return Format::kUnsupported;
}

Result<std::string> ExtractText(Format format, std::string_view bytes, const Limits& limits) {
  switch (format) {
    case Format::kPlainText: {
      TextSink sink(limits.max_text_bytes);
      CS_RETURN_IF_ERROR(sink.Append(bytes));
      return sink.Take();
    }
    case Format::kPdf: return PdfText(bytes, limits);
    case Format::kOoxml: return OoxmlText(bytes, limits);
    case Format::kUnsupported: break;
  }
  return FailedPrecondition("document_unsupported", "documents of this type cannot be scanned");
}

}  // namespace cs::docscan
