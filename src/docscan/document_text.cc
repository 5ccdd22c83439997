// Text extraction in this process: poppler-cpp for PDF, libarchive and
// libxml2 for Office Open XML. Only this file includes them.
#include "docscan/document_text.h"

#include <archive.h>
#include <archive_entry.h>
#include <libxml/xmlreader.h>
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <cctype>
#include <ctime>
#include <memory>
#include <mutex>
#include <vector>

#include "common/strings.h"

namespace cs::docscan {

namespace {

Status Unreadable(std::string what) { return FailedPrecondition("document_unreadable", std::move(what)); }
Status TooLarge(std::string what) { return FailedPrecondition("document_too_large", std::move(what)); }

// Appends to the text, refusing (not cutting) past the limit: a cut would
// leave the rest of the document unscanned yet passed. Sinks of one
// document may share the limit (`shared`).
class TextSink {
 public:
  explicit TextSink(int64_t limit, int64_t* shared = nullptr) : limit_(limit), used_(shared ? shared : &own_) {}
  Status Append(std::string_view s) {
    if (*used_ + static_cast<int64_t>(s.size()) > limit_) {
      return TooLarge("the document holds more than " + std::to_string(limit_) + " bytes of text");
    }
    *used_ += static_cast<int64_t>(s.size());
    text_.append(s);
    return Status::Ok();
  }
  std::string Take() { return std::move(text_); }

 private:
  int64_t limit_;
  int64_t own_ = 0;
  int64_t* used_;
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
  if (doc->has_embedded_files()) {
    return FailedPrecondition("document_unsupported", "the PDF carries attached files, which are not read");
  }
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
  std::string text = sink.Take();
  // Scanned pages are images: nothing was read, so nothing was checked.
  if (text.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
    return FailedPrecondition("document_no_text", "the PDF holds no text (scanned pages are images)");
  }
  return text;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// What an Office file's part is, by its (lowercased) name. Every XML part is
// read, whatever its name (readers follow the relationships, not names,
// and compare them without case): bodies, headers, notes, comments, slide
// masters, custom XML bound into the document, properties. Pictures and
// fonts hold no text to read; an embedded document or an "alternative
// chunk" (HTML, RTF or MHT that Word shows inline) would need its own
// reader, so the file is not scannable.
enum class PartKind { kXml, kIgnored, kUnscannable };
PartKind KindOfPart(const std::string& name) {
  if (EndsWith(name, ".xml") || EndsWith(name, ".rels") || EndsWith(name, ".vml")) return PartKind::kXml;
  if (name.find("embeddings/") != std::string::npos) return PartKind::kUnscannable;
  for (std::string_view chunk : {".mht", ".mhtml", ".htm", ".html", ".rtf", ".txt", ".docx", ".xlsx", ".pptx",
                                 ".doc", ".xls", ".ppt", ".pdf", ".bin"}) {
    if (EndsWith(name, chunk)) return PartKind::kUnscannable;
  }
  return PartKind::kIgnored;
}

bool IsWordNamespace(const xmlChar* uri) {
  if (uri == nullptr) return false;
  const std::string_view u = reinterpret_cast<const char*>(uri);
  return u == "http://schemas.openxmlformats.org/wordprocessingml/2006/main" ||
         u == "http://purl.oclc.org/ooxml/wordprocessingml/main";
}

// The character data of one XML part, twice:
// - `visible`, as a reader sees it: hidden runs, deleted revisions and
//   field codes left out (they could glue a letter to a number); runs of a
//   paragraph joined (a number with one digit group in bold is still one
//   number); a paragraph, cell, shared or inline string, value, formula and
//   break end a line;
// - `nodes`, every text node and every text-bearing attribute (alternative
//   text, WordArt) on a line of its own, hidden or not: a deleted revision
//   or a field code still travels in the file, and no formatting trick can
//   join it to a neighbour.
// The scanner reads both; a document type declaration is refused.
Status XmlText(const std::string& xml, bool spreadsheet, TextSink& visible, TextSink& nodes) {
  // No network, no DTD loading, entities not substituted (XXE).
  std::unique_ptr<xmlTextReader, void (*)(xmlTextReaderPtr)> reader(
      xmlReaderForMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
      xmlFreeTextReader);
  if (reader == nullptr) return Unreadable("a part of the Office file cannot be read");
  int hidden_depth = 0;     // inside deleted text or a field code
  int change_depth = 0;     // inside a record of former formatting (w:rPrChange)
  bool run_hidden = false;  // the current run is formatted as hidden
  int rc = 0;
  while ((rc = xmlTextReaderRead(reader.get())) == 1) {
    const int type = xmlTextReaderNodeType(reader.get());
    if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
      return FailedPrecondition("document_unsupported", "a part of the Office file declares a document type");
    }
    if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
        type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
      const xmlChar* value = xmlTextReaderConstValue(reader.get());
      if (value == nullptr) continue;
      const std::string_view text = reinterpret_cast<const char*>(value);
      if (type != XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
        CS_RETURN_IF_ERROR(nodes.Append(text));
        CS_RETURN_IF_ERROR(nodes.Append("\n"));
      }
      if (hidden_depth == 0 && !run_hidden) CS_RETURN_IF_ERROR(visible.Append(text));
      continue;
    }
    if (type != XML_READER_TYPE_ELEMENT && type != XML_READER_TYPE_END_ELEMENT) continue;
    const xmlChar* local = xmlTextReaderConstLocalName(reader.get());
    const std::string_view name = local != nullptr ? reinterpret_cast<const char*>(local) : "";
    const bool word = IsWordNamespace(xmlTextReaderConstNamespaceUri(reader.get()));
    const bool empty = type == XML_READER_TYPE_ELEMENT && xmlTextReaderIsEmptyElement(reader.get()) == 1;
    const bool hiding = word && (name == "delText" || name == "instrText" || name == "delInstrText");
    if (type == XML_READER_TYPE_ELEMENT) {
      // Text-bearing attributes: alternative text, titles, WordArt.
      for (const char* attribute : {"descr", "title", "string", "alt"}) {
        xmlChar* v = xmlTextReaderGetAttribute(reader.get(), reinterpret_cast<const xmlChar*>(attribute));
        if (v != nullptr) {
          Status appended = nodes.Append(reinterpret_cast<const char*>(v));
          xmlFree(v);
          CS_RETURN_IF_ERROR(appended);
          CS_RETURN_IF_ERROR(nodes.Append("\n"));
        }
      }
      if (word && name == "r") run_hidden = false;
      if (word && name == "rPrChange" && !empty) ++change_depth;
      if (word && name == "vanish" && change_depth == 0) {
        xmlChar* val = xmlTextReaderGetAttributeNs(reader.get(), reinterpret_cast<const xmlChar*>("val"),
                                                   xmlTextReaderConstNamespaceUri(reader.get()));
        const std::string v = val != nullptr ? reinterpret_cast<const char*>(val) : "";
        xmlFree(val);
        run_hidden = !(v == "0" || v == "false" || v == "off");
      }
      if (hiding && !empty) ++hidden_depth;
      if (!empty) continue;
    } else if (hiding) {
      if (hidden_depth > 0) --hidden_depth;
      continue;
    } else if (word && name == "rPrChange") {
      if (change_depth > 0) --change_depth;
      continue;
    } else if (word && name == "r") {
      run_hidden = false;
    }
    // An element ends (or is empty).
    const bool line = name == "p" || name == "tc" || name == "br" || name == "cr" ||
                      (spreadsheet && (name == "c" || name == "si" || name == "v" || name == "f" || name == "is"));
    if (line) {
      CS_RETURN_IF_ERROR(visible.Append("\n"));
    } else if (name == "tab") {
      CS_RETURN_IF_ERROR(visible.Append("\t"));
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
  int64_t used = 0;
  TextSink visible(limits.max_text_bytes, &used);
  TextSink nodes(limits.max_text_bytes, &used);
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
    const std::string name = Lower(raw_name != nullptr ? raw_name : "");
    const PartKind kind = KindOfPart(name);
    if (kind == PartKind::kUnscannable) {
      return FailedPrecondition("document_unsupported", "the Office file embeds another document, which is not read");
    }
    if (kind == PartKind::kIgnored) continue;
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
    CS_RETURN_IF_ERROR(XmlText(xml, name.rfind("xl/", 0) == 0, visible, nodes));
    if (name.rfind("word/", 0) == 0 || name.rfind("xl/", 0) == 0 || name.rfind("ppt/", 0) == 0) any = true;
  }
  // An Office file always has a body part: without one it is something else in a zip.
  if (!any) return Unreadable("the Office file has no document, workbook or presentation part");
  // Both readings, a blank line apart: what a reader sees, then every text apart.
  return visible.Take() + "\n\n" + nodes.Take();
}

}  // namespace

void WarmUpReaders() {
  tzset();
  xmlInitParser();
  const std::string content = "BT /F1 12 Tf 72 700 Td (warm) Tj ET";
  const std::string pdf = "%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
                          "2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n"
                          "3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R"
                          "/Resources<</Font<</F1 5 0 R>>>>>> endobj\n4 0 obj <</Length " +
                          std::to_string(content.size()) + ">> stream\n" + content +
                          "\nendstream endobj\n5 0 obj <</Type/Font/Subtype/Type1/BaseFont/Helvetica>> endobj\n"
                          "trailer <</Root 1 0 R>>\n%%EOF\n";
  // poppler drops its global tables (and reloads them from files) when its
  // last document goes: one stays open for the life of the process.
  static const std::unique_ptr<poppler::document> kept(
      poppler::document::load_from_raw_data(pdf.data(), static_cast<int>(pdf.size())));
  PdfText(pdf, Limits{}).status().IgnoreError();
}

Format FormatOf(std::string_view mime_type) {
  // Any text (CSV, HTML, calendar files…): what the scanner needs is there as it is.
  if (mime_type.substr(0, 5) == "text/") return Format::kPlainText;
  if (mime_type == "application/pdf") return Format::kPdf;
  if (mime_type.substr(0, 46) == "application/vnd.openxmlformats-officedocument.") return Format::kOoxml;
  return Format::kUnsupported;
}

Result<std::string> ExtractText(Format format, std::string_view bytes, const Limits& limits) {
  switch (format) {
    case Format::kPlainText: {
      if (!IsValidUtf8(bytes)) return Unreadable("the text is not UTF-8");
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
