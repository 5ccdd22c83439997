// Text extraction in this process: poppler-cpp for the text of PDF pages,
// libarchive and libxml2 for Office Open XML and OpenDocument (only this
// file includes them); pdf_objects.cc reads the rest of a PDF with qpdf.
#include "docscan/document_text.h"

#include <archive.h>
#include <archive_entry.h>
#include <libxml/xmlreader.h>
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-image.h>
#include <poppler/cpp/poppler-page-renderer.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <exception>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "common/strings.h"
#include "docscan/ocr.h"
#include "docscan/pdf_objects.h"

namespace cs::docscan {

namespace {

Status Unreadable(std::string what) { return FailedPrecondition("document_unreadable", std::move(what)); }
Status TooLarge(std::string what) { return FailedPrecondition("document_too_large", std::move(what)); }

// Between the readings of one document: a line of its own that no
// reading writes, and across which the scanner joins nothing.
constexpr std::string_view kReadingSeparator = "\n\f\n";

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
  // The last character appended, or '\0'.
  char Back() const { return text_.empty() ? '\0' : text_.back(); }
  // The text so far; the sink goes on from empty, its count kept.
  std::string Take() {
    std::string out;
    out.swap(text_);
    return out;
  }

 private:
  int64_t limit_;
  int64_t own_ = 0;
  int64_t* used_;
  std::string text_;
};

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

using XmlReader = std::unique_ptr<xmlTextReader, void (*)(xmlTextReaderPtr)>;

Result<XmlReader> OpenXml(const std::string& xml) {
  // No network, no DTD loading, entities not substituted (XXE).
  XmlReader reader(xmlReaderForMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
                   xmlFreeTextReader);
  if (reader == nullptr) return Unreadable("a part of the document cannot be read");
  return reader;
}

// Reads the next node of `reader`: false at the end. Not well-formed XML is
// unreadable; a document type declaration (entities that could read local
// files or expand without end) is refused: no Office or OpenDocument part has one.
Result<bool> NextXmlNode(xmlTextReaderPtr reader) {
  const int rc = xmlTextReaderRead(reader);
  if (rc == 0) return false;
  if (rc < 0) return Unreadable("a part of the document is not well-formed XML");
  if (xmlTextReaderNodeType(reader) == XML_READER_TYPE_DOCUMENT_TYPE) {
    return FailedPrecondition("document_unsupported", "a part of the document declares a document type");
  }
  return true;
}

// Word's styles that may hide a run's text ("vanish"), by kind: a run in
// a hiding character style, or in a paragraph whose style hides its runs,
// is hidden unless the run says otherwise; styles inherit (w:basedOn).
struct WordStyle {
  std::optional<bool> hides;  // unset: as the style it is based on
  std::string based_on;
};
struct WordStyles {
  std::map<std::string, WordStyle> character, paragraph;

  // Whether style `id` hides text, or unset when neither it nor a style it
  // is based on says (a loop or a missing style says nothing).
  static std::optional<bool> Hides(const std::map<std::string, WordStyle>& styles, std::string id) {
    for (int hop = 0; hop < 32 && !id.empty(); ++hop) {
      auto it = styles.find(id);
      if (it == styles.end()) break;
      if (it->second.hides.has_value()) return it->second.hides;
      id = it->second.based_on;
    }
    return std::nullopt;
  }
};

// True when a w:vanish (or similar on/off property) element turns it on.
bool WordOn(xmlTextReaderPtr reader) {
  xmlChar* val = xmlTextReaderGetAttributeNs(reader, reinterpret_cast<const xmlChar*>("val"),
                                             xmlTextReaderConstNamespaceUri(reader));
  const std::string v = val != nullptr ? reinterpret_cast<const char*>(val) : "";
  xmlFree(val);
  return !(v == "0" || v == "false" || v == "off");
}

std::string WordVal(xmlTextReaderPtr reader) {
  xmlChar* val = xmlTextReaderGetAttributeNs(reader, reinterpret_cast<const xmlChar*>("val"),
                                             xmlTextReaderConstNamespaceUri(reader));
  std::string v = val != nullptr ? reinterpret_cast<const char*>(val) : "";
  xmlFree(val);
  return v;
}

// The styles of a styles part (word/styles.xml).
Status ReadWordStyles(const std::string& xml, WordStyles& styles) {
  CS_ASSIGN_OR_RETURN(XmlReader reader, OpenXml(xml));
  WordStyle* style = nullptr;
  int style_depth = -1;
  while (true) {
    CS_ASSIGN_OR_RETURN(const bool more, NextXmlNode(reader.get()));
    if (!more) break;
    const int type = xmlTextReaderNodeType(reader.get());
    const int depth = xmlTextReaderDepth(reader.get());
    if (type == XML_READER_TYPE_END_ELEMENT && depth == style_depth) style = nullptr, style_depth = -1;
    if (type != XML_READER_TYPE_ELEMENT || !IsWordNamespace(xmlTextReaderConstNamespaceUri(reader.get()))) continue;
    const xmlChar* local = xmlTextReaderConstLocalName(reader.get());
    const std::string_view name = local != nullptr ? reinterpret_cast<const char*>(local) : "";
    if (name == "style" && style == nullptr && xmlTextReaderIsEmptyElement(reader.get()) != 1) {
      const xmlChar* uri = xmlTextReaderConstNamespaceUri(reader.get());
      auto attribute = [&](const char* n) {
        xmlChar* v = xmlTextReaderGetAttributeNs(reader.get(), reinterpret_cast<const xmlChar*>(n), uri);
        std::string out = v != nullptr ? reinterpret_cast<const char*>(v) : "";
        xmlFree(v);
        return out;
      };
      const std::string kind = attribute("type");
      if (kind != "character" && kind != "paragraph") continue;
      style = &(kind == "character" ? styles.character : styles.paragraph)[attribute("styleId")];
      style_depth = depth;
    } else if (style != nullptr && name == "basedOn") {
      style->based_on = WordVal(reader.get());
    } else if (style != nullptr && name == "vanish") {
      style->hides = WordOn(reader.get());
    }
  }
  return Status::Ok();
}

// Appends `text` to a reading as ODF (and a viewer of XHTML) shows it: tabs and line ends are
// spaces, and runs of spaces are one (a number typed with a line end in
// the middle of it is one number on screen).
Status AppendShown(TextSink& sink, std::string_view text) {
  std::string shown;
  shown.reserve(text.size());
  char last = sink.Back();
  for (char c : text) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    if (c == ' ' && (last == ' ' || last == '\n' || last == '\0')) continue;
    shown.push_back(c);
    last = c;
  }
  return sink.Append(shown);
}

// The readings XmlText writes; `recorded` may be null.
struct XmlReadings {
  TextSink* visible;
  TextSink* recorded;
  TextSink* asides;
  TextSink* nodes;
};

struct XmlTextOptions {
  bool spreadsheet = false;
  bool every_attribute = false;
  bool collapse_whitespace = false;  // XHTML: whitespace shown as one space
  const WordStyles* styles = nullptr;
};

constexpr std::string_view kMarkupCompatibility = "http://schemas.openxmlformats.org/markup-compatibility/2006";

// An Excel header or footer as shown: "&L", "&C" and "&R" start its left,
// centre and right sections (a line each), other codes (&P, &"font", &12,
// &K00FF00) are formatting, "&&" is "&". Otherwise "&C4111 1111 1111 1111"
// would glue a letter to the number typed in the centre section.
std::string HeaderFooterShown(std::string_view raw) {
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&' || i + 1 == raw.size()) {
      out.push_back(raw[i]);
      continue;
    }
    const char code = raw[++i];
    if (code == '&') {
      out.push_back('&');
      continue;
    }
    if (code == 'L' || code == 'C' || code == 'R') {
      out.push_back('\n');
      continue;
    }
    if (code == '"') {
      const size_t close = raw.find('"', i + 1);
      i = close == std::string_view::npos ? raw.size() : close;
    } else if (code == 'K') {
      i = std::min(raw.size() - 1, i + 6);  // a colour: six hex digits
    } else if (std::isdigit(static_cast<unsigned char>(code))) {
      while (i + 1 < raw.size() && std::isdigit(static_cast<unsigned char>(raw[i + 1]))) ++i;
    }
    out.push_back(' ');  // any other code: formatting, or a page number or date (not a digit of the text)
  }
  return out;
}

// The UTF-8 of a w:sym character (hex; a symbol font's private-use code
// F0xx stands for xx).
std::string SymbolCharacter(const std::string& hex) {
  unsigned long code = std::strtoul(hex.c_str(), nullptr, 16);
  if (code >= 0xF000 && code <= 0xF0FF) code -= 0xF000;
  std::string out;
  if (code == 0 || code > 0xFFFF) return out;
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
  return out;
}

// The character data of one XML part, four times:
// - `visible`, as a reader sees it: hidden runs (w:vanish on the run, its
//   character style or its paragraph's style) and field codes left out
//   (they could glue a letter to a number); runs of a paragraph joined (a
//   number with one digit group in bold is still one number); whitespace
//   between elements ignored, as Word and Excel ignore it; a paragraph,
//   cell, shared or inline string, value, formula, comment and break end a
//   line;
// - `recorded` (when given), the same with recorded deletions and moves
//   inline, as Word shows them with changes marked: a number typed half
//   before and half inside a deletion is whole there;
// - `asides`, what a reader sees beside the text, joined the same way: text
//   boxes, recorded deletions, ruby and phonetic guides, the fallback of
//   alternative content, so they are not glued into the sentence around
//   them;
// - `nodes`, every text node and every text-bearing attribute (alternative
//   text, WordArt, drop-down entries) on a line of its own, hidden or not:
//   a hidden run or a field code still travels in the file, and no
//   formatting trick can join it to a neighbour. With `every_attribute`
//   (metadata, where RDF writes values as attributes), every attribute's
//   value instead.
// The scanner reads them all; a document type declaration is refused.
Status XmlText(const std::string& xml, const XmlTextOptions& options, const XmlReadings& out) {
  CS_ASSIGN_OR_RETURN(XmlReader reader, OpenXml(xml));
  const WordStyles no_styles;
  const WordStyles& styles = options.styles != nullptr ? *options.styles : no_styles;
  int hidden_depth = 0;          // inside a field code
  int change_depth = 0;          // inside a record of former formatting (w:rPrChange, w:pPrChange)
  int aside_depth = -1;          // inside an aside entered at this depth
  bool aside_recorded = false;   // that aside is a deletion or a move, inline in `recorded`
  int text_depth = -1;           // inside a text element (w:t, t, w:delText) at this depth
  int header_depth = -1;         // inside an Excel header or footer at this depth
  // Whether each open paragraph's style hides its runs (a text box in a
  // run holds paragraphs of its own), by depth.
  std::vector<std::pair<int, bool>> paragraphs;
  // Each open run (runs nest through text boxes and ruby): its depth, its
  // character style, its own w:vanish (-1 unset, else 0 or 1).
  struct Run {
    int depth;
    std::string style;
    int vanish;
  };
  std::vector<Run> runs;
  auto run_hidden = [&] {
    if (runs.empty()) return false;
    // The run's own property, then its character style, then its paragraph's style.
    if (runs.back().vanish >= 0) return runs.back().vanish == 1;
    if (std::optional<bool> by_style = WordStyles::Hides(styles.character, runs.back().style)) return *by_style;
    return !paragraphs.empty() && paragraphs.back().second;
  };
  // Into the readings the current place belongs to: the body (and the
  // recorded changes), or an aside (and the recorded changes, when it is a
  // deletion or a move).
  auto put = [&](std::string_view text, bool collapse) -> Status {
    auto append = [&](TextSink& sink) { return collapse ? AppendShown(sink, text) : sink.Append(text); };
    if (aside_depth >= 0) {
      CS_RETURN_IF_ERROR(append(*out.asides));
      return out.recorded != nullptr && aside_recorded ? append(*out.recorded) : Status::Ok();
    }
    CS_RETURN_IF_ERROR(append(*out.visible));
    return out.recorded != nullptr ? append(*out.recorded) : Status::Ok();
  };
  // Text a reader sees, unless hidden.
  auto show = [&](std::string_view text) -> Status {
    if (hidden_depth > 0 || run_hidden()) return Status::Ok();
    return put(text, options.collapse_whitespace);
  };
  // A line end (or tab) of the layout, whether or not the run is hidden.
  auto layout = [&](std::string_view mark) -> Status { return put(mark, false); };
  auto node = [&](std::string_view text) -> Status {
    CS_RETURN_IF_ERROR(out.nodes->Append(text));
    return out.nodes->Append("\n");
  };
  while (true) {
    CS_ASSIGN_OR_RETURN(const bool more, NextXmlNode(reader.get()));
    if (!more) break;
    const int type = xmlTextReaderNodeType(reader.get());
    const int depth = xmlTextReaderDepth(reader.get());
    if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) {
      const xmlChar* value = xmlTextReaderConstValue(reader.get());
      if (value == nullptr) continue;
      std::string_view text = reinterpret_cast<const char*>(value);
      std::string shown_header;
      if (header_depth >= 0) {
        shown_header = HeaderFooterShown(text);
        text = shown_header;
      }
      CS_RETURN_IF_ERROR(node(text));
      CS_RETURN_IF_ERROR(show(text));
      continue;
    }
    if (type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
      // Inside a text element it is text; between elements, indentation.
      const xmlChar* value = xmlTextReaderConstValue(reader.get());
      if (value == nullptr) continue;
      if (options.collapse_whitespace || (text_depth >= 0 && depth == text_depth + 1)) {
        CS_RETURN_IF_ERROR(show(reinterpret_cast<const char*>(value)));
      }
      continue;
    }
    if (type != XML_READER_TYPE_ELEMENT && type != XML_READER_TYPE_END_ELEMENT) continue;
    const xmlChar* local = xmlTextReaderConstLocalName(reader.get());
    const std::string_view name = local != nullptr ? reinterpret_cast<const char*>(local) : "";
    const xmlChar* uri = xmlTextReaderConstNamespaceUri(reader.get());
    const bool word = IsWordNamespace(uri);
    const bool compatibility = uri != nullptr && reinterpret_cast<const char*>(uri) == kMarkupCompatibility;
    const bool empty = type == XML_READER_TYPE_ELEMENT && xmlTextReaderIsEmptyElement(reader.get()) == 1;
    const bool hiding = word && (name == "instrText" || name == "delInstrText");
    const bool recorded_aside = word && (name == "del" || name == "moveFrom");
    const bool aside = recorded_aside || (word && (name == "txbxContent" || name == "rt")) ||
                       (options.spreadsheet && name == "rPh") || (compatibility && name == "Fallback");
    if (type == XML_READER_TYPE_ELEMENT) {
      // Every attribute's value (metadata), or the text-bearing ones:
      // alternative text, titles, WordArt.
      while (options.every_attribute && xmlTextReaderMoveToNextAttribute(reader.get()) == 1) {
        const xmlChar* v = xmlTextReaderConstValue(reader.get());
        if (v != nullptr && *v != 0) CS_RETURN_IF_ERROR(node(reinterpret_cast<const char*>(v)));
      }
      if (options.every_attribute) xmlTextReaderMoveToElement(reader.get());
      for (const char* attribute : {"descr", "title", "string", "alt"}) {
        if (options.every_attribute) break;
        xmlChar* v = xmlTextReaderGetAttribute(reader.get(), reinterpret_cast<const xmlChar*>(attribute));
        if (v != nullptr) {
          Status appended = node(reinterpret_cast<const char*>(v));
          xmlFree(v);
          CS_RETURN_IF_ERROR(appended);
        }
      }
      if (word && name == "listEntry") CS_RETURN_IF_ERROR(node(WordVal(reader.get())));  // a drop-down's choices
      if (word && name == "p" && !empty) paragraphs.emplace_back(depth, false);
      if ((word || options.spreadsheet) && (name == "rPrChange" || name == "pPrChange") && !empty) ++change_depth;
      // Former formatting (inside a change record) says nothing of what is shown.
      if (word && change_depth == 0) {
        if (name == "pStyle" && !paragraphs.empty()) {
          paragraphs.back().second = WordStyles::Hides(styles.paragraph, WordVal(reader.get())).value_or(false);
        }
        if (name == "r" && !empty) runs.push_back(Run{depth, "", -1});
        if (name == "rStyle" && !runs.empty()) runs.back().style = WordVal(reader.get());
        if (name == "vanish" && !runs.empty()) runs.back().vanish = WordOn(reader.get()) ? 1 : 0;
      }
      if ((name == "t" || (word && name == "delText")) && !empty) text_depth = depth;
      if (options.spreadsheet && !empty &&
          (name == "oddHeader" || name == "evenHeader" || name == "firstHeader" || name == "oddFooter" ||
           name == "evenFooter" || name == "firstFooter")) {
        header_depth = depth;
      }
      // What a reader sees of a symbol, a non-breaking hyphen, a tab.
      if (word && name == "sym") {
        xmlChar* code = xmlTextReaderGetAttributeNs(reader.get(), reinterpret_cast<const xmlChar*>("char"), uri);
        const std::string hex = code != nullptr ? reinterpret_cast<const char*>(code) : "";
        xmlFree(code);
        CS_RETURN_IF_ERROR(show(SymbolCharacter(hex)));
      }
      if (word && name == "noBreakHyphen") CS_RETURN_IF_ERROR(show("-"));
      if (hiding && !empty) ++hidden_depth;
      if (aside && !empty && aside_depth < 0) {
        aside_depth = depth;
        aside_recorded = recorded_aside;
      }
      if (!empty) continue;
    } else if (hiding) {
      if (hidden_depth > 0) --hidden_depth;
      continue;
    } else if ((word || options.spreadsheet) && (name == "rPrChange" || name == "pPrChange")) {
      if (change_depth > 0) --change_depth;
      continue;
    } else if (word && name == "r" && !runs.empty() && runs.back().depth == depth) {
      runs.pop_back();
    } else if (word && name == "p" && !paragraphs.empty() && paragraphs.back().first == depth) {
      paragraphs.pop_back();
    } else if (depth == aside_depth) {
      CS_RETURN_IF_ERROR(out.asides->Append("\n"));
      aside_depth = -1;
      aside_recorded = false;
      continue;
    }
    const bool header_end = depth == header_depth;
    if (depth == text_depth) text_depth = -1;
    if (header_end) header_depth = -1;
    // An element ends (or is empty).
    const bool line = name == "p" || name == "tc" || name == "br" || name == "cr" ||
                      (options.spreadsheet && (name == "c" || name == "si" || name == "v" || name == "f" ||
                                               name == "is" || name == "author" || name == "text" ||
                                               name == "comment" || header_end));
    if (line) {
      CS_RETURN_IF_ERROR(layout("\n"));
    } else if (name == "tab" || name == "ptab") {
      CS_RETURN_IF_ERROR(layout("\t"));
    }
  }
  return Status::Ok();
}

// XmlText for text that has no asides of its own: they join the reading.
Status XmlText(const std::string& xml, const XmlTextOptions& options, TextSink& visible, TextSink& nodes) {
  return XmlText(xml, options, XmlReadings{&visible, nullptr, &visible, &nodes});
}

// The text a PDF holds outside its pages (pdf_objects.h), into `sink`:
// each value on a line of its own, rich text (XHTML) as a reader sees it
// and every text apart, XMP metadata with every attribute's value.
Status PdfObjectText(std::string_view bytes, int pages, const Limits& limits, TextSink& sink) {
  CS_ASSIGN_OR_RETURN(PdfObjectTexts found, ReadPdfObjects(bytes, pages, limits.max_text_bytes));
  for (const std::string& value : found.values) {
    CS_RETURN_IF_ERROR(sink.Append(value));
    CS_RETURN_IF_ERROR(sink.Append("\n"));
  }
  XmlTextOptions xhtml_options;
  xhtml_options.collapse_whitespace = true;
  for (const std::string& xhtml : found.rich_texts) {
    TextSink shown(limits.max_text_bytes), nodes(limits.max_text_bytes);
    std::vector<std::string> texts;
    if (XmlText(xhtml, xhtml_options, shown, nodes).ok()) {
      texts = {shown.Take(), nodes.Take()};
    } else {
      // Not well-formed (HTML entities, unclosed tags): its tags dropped
      // and its whitespace collapsed, as a viewer shows it.
      std::string untagged;
      bool in_tag = false;
      for (char c : xhtml) {
        if (c == '<') in_tag = true;
        if (!in_tag) untagged.push_back(c);
        if (c == '>') in_tag = false;
      }
      TextSink collapsed(limits.max_text_bytes);
      CS_RETURN_IF_ERROR(AppendShown(collapsed, untagged));
      texts = {collapsed.Take()};
    }
    for (const std::string& text : texts) {
      CS_RETURN_IF_ERROR(sink.Append(text));
      CS_RETURN_IF_ERROR(sink.Append("\n"));
    }
  }
  if (!found.xmp.empty()) {
    // RDF writes values as attributes too (pdf:Keywords="…"): all are read,
    // after the values as joined.
    XmlTextOptions every_attribute;
    every_attribute.every_attribute = true;
    TextSink joined(limits.max_text_bytes), nodes(limits.max_text_bytes);
    CS_RETURN_IF_ERROR(XmlText(found.xmp, every_attribute, joined, nodes));
    CS_RETURN_IF_ERROR(sink.Append(joined.Take()));
    CS_RETURN_IF_ERROR(sink.Append("\n"));
    CS_RETURN_IF_ERROR(sink.Append(nodes.Take()));
  }
  return Status::Ok();
}

// poppler reports damage on stderr by default; callers report it instead.
void QuietPoppler() {
  static std::once_flag quiet;
  std::call_once(quiet, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

// Recognised text, then the same with the single spaces between digit
// groups removed: recognition often loses or adds the space between two
// groups ("4111 111111111111"), which the scanner would not take for a
// card number; with the groups run together, the check digit decides.
std::string WithDigitsJoined(const std::string& recognised) {
  std::string joined;
  joined.reserve(recognised.size());
  for (size_t i = 0; i < recognised.size(); ++i) {
    const char c = recognised[i];
    // Groups of two digits or more only: the lone leading digit of a
    // barcode's text ("5 039595 237572") is not a card's first digit.
    auto digits_before = [&joined] {
      size_t n = 0;
      while (n < joined.size() && std::isdigit(static_cast<unsigned char>(joined[joined.size() - 1 - n]))) ++n;
      return n;
    };
    auto digits_after = [&recognised, i] {
      size_t n = 0;
      while (i + 1 + n < recognised.size() && std::isdigit(static_cast<unsigned char>(recognised[i + 1 + n]))) ++n;
      return n;
    };
    if (c == ' ' && digits_before() >= 2 && digits_after() >= 2) continue;
    joined.push_back(c);
  }
  return recognised + std::string(kReadingSeparator) + joined;
}

// The text recognised in each page of a scanned PDF, rendered at 300 dpi
// (less for pages too large to render within the pixel limit).
Result<std::string> RecognizePages(const poppler::document& doc, const Limits& limits, TextSink& sink) {
  const int pages = doc.pages();
  if (pages > limits.max_ocr_pages) {
    return TooLarge("the PDF is scanned and has more than " + std::to_string(limits.max_ocr_pages) +
                    " pages to recognise");
  }
  poppler::page_renderer renderer;
  // Grey, a byte a pixel: what recognition reads, a quarter of the memory.
  renderer.set_image_format(poppler::image::format_gray8);
  for (int i = 0; i < pages; ++i) {
    std::unique_ptr<poppler::page> page(doc.create_page(i));
    if (page == nullptr) return Unreadable("a page of the PDF cannot be read");
    const poppler::rectf box = page->page_rect();
    double dpi = 300;
    const double points = std::max(1.0, box.width()) * std::max(1.0, box.height());
    const double pixels_at_300 = points / (72.0 * 72.0) * dpi * dpi;
    if (pixels_at_300 > static_cast<double>(limits.max_image_pixels)) {
      dpi *= std::sqrt(static_cast<double>(limits.max_image_pixels) / pixels_at_300);
    }
    if (dpi < 50) return TooLarge("a page of the PDF is too large to recognise");
    poppler::image picture = renderer.render_page(page.get(), dpi, dpi);
    if (!picture.is_valid() || picture.format() != poppler::image::format_gray8) {
      return Unreadable("a page of the PDF cannot be rendered");
    }
    CS_ASSIGN_OR_RETURN(std::string recognised,
                        RecognizePixels(reinterpret_cast<const unsigned char*>(picture.const_data()), picture.width(),
                                        picture.height(), picture.bytes_per_row(), static_cast<int>(dpi)));
    CS_RETURN_IF_ERROR(sink.Append(WithDigitsJoined(recognised)));
    CS_RETURN_IF_ERROR(sink.Append("\n"));
  }
  return sink.Take();
}

Result<std::string> PdfText(std::string_view bytes, const Limits& limits) {
  QuietPoppler();
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
  if (text.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
    // Scanned pages are pictures: their text is recognised, or nothing
    // would be checked, whatever the comments or form fields hold.
    CS_ASSIGN_OR_RETURN(text, RecognizePages(*doc, limits, sink));
    if (text.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
      return FailedPrecondition("document_no_text", "the PDF holds no text, and none was recognised in its pages");
    }
  }
  CS_RETURN_IF_ERROR(sink.Append(kReadingSeparator));
  CS_RETURN_IF_ERROR(PdfObjectText(bytes, pages, limits, sink));
  return text + sink.Take();
}

// Calls `read(name, content)` for each part of a zip archive whose
// (lowercased) name `kind` says to read, within the limits; a part `kind`
// calls unscannable stops the reading. `what` names the file in errors.
template <typename KindFn, typename ReadFn>
Status ForEachZipPart(std::string_view bytes, const Limits& limits, const char* what, KindFn kind, ReadFn read) {
  std::unique_ptr<archive, int (*)(archive*)> zip(archive_read_new(), archive_read_free);
  if (zip == nullptr) return Internal("libarchive: out of memory");
  archive_read_support_format_zip(zip.get());
  if (archive_read_open_memory(zip.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return Unreadable(std::string("the ") + what + " is not a readable zip archive");
  }
  int64_t parts = 0;
  archive_entry* entry = nullptr;
  while (true) {
    const int rc = archive_read_next_header(zip.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      // An encrypted zip entry or a damaged archive.
      if (archive_entry_is_encrypted(entry)) {
        return FailedPrecondition("document_encrypted", std::string("the ") + what + " is encrypted");
      }
      return Unreadable(std::string("the ") + what + "'s archive is damaged");
    }
    if (++parts > limits.max_parts) return TooLarge(std::string("the ") + what + " has too many parts");
    const char* raw_name = archive_entry_pathname(entry);
    const std::string name = Lower(raw_name != nullptr ? raw_name : "");
    const PartKind part_kind = kind(name);
    if (part_kind == PartKind::kUnscannable) {
      return FailedPrecondition("document_unsupported",
                                std::string("the ") + what + " embeds another document, which is not read");
    }
    if (part_kind == PartKind::kIgnored) continue;
    if (archive_entry_is_encrypted(entry)) {
      return FailedPrecondition("document_encrypted", std::string("the ") + what + " is encrypted");
    }
    std::string content;
    char buffer[16384];
    while (true) {
      const la_ssize_t n = archive_read_data(zip.get(), buffer, sizeof buffer);
      if (n < 0) return Unreadable(std::string("a part of the ") + what + " cannot be decompressed");
      if (n == 0) break;
      if (static_cast<int64_t>(content.size()) + n > limits.max_part_bytes) {
        return TooLarge(std::string("a part of the ") + what + " decompresses to more than " +
                        std::to_string(limits.max_part_bytes) + " bytes");
      }
      content.append(buffer, static_cast<size_t>(n));
    }
    CS_RETURN_IF_ERROR(read(name, content));  // `read` may take the content
  }
  return Status::Ok();
}

bool IsWordStylesPart(const std::string& name) {
  return name == "word/styles.xml" || name == "word/styleswitheffects.xml";
}

Result<std::string> OoxmlText(std::string_view bytes, const Limits& limits) {
  // Styles first (the archive is read twice: parts come in any order),
  // since a run may be hidden by its style.
  WordStyles styles;
  CS_RETURN_IF_ERROR(ForEachZipPart(
      bytes, limits, "Office file",
      [](const std::string& name) { return IsWordStylesPart(name) ? PartKind::kXml : PartKind::kIgnored; },
      [&](const std::string&, std::string& xml) { return ReadWordStyles(xml, styles); }));
  int64_t used = 0;
  TextSink visible(limits.max_text_bytes, &used);
  TextSink recorded(limits.max_text_bytes, &used);
  TextSink asides(limits.max_text_bytes, &used);
  TextSink nodes(limits.max_text_bytes, &used);
  bool any = false;
  CS_RETURN_IF_ERROR(ForEachZipPart(bytes, limits, "Office file", KindOfPart,
                                    [&](const std::string& name, std::string& xml) -> Status {
                                      XmlTextOptions options;
                                      options.spreadsheet = name.rfind("xl/", 0) == 0;
                                      options.styles = &styles;
                                      CS_RETURN_IF_ERROR(
                                          XmlText(xml, options, XmlReadings{&visible, &recorded, &asides, &nodes}));
                                      // Nothing is glued across parts.
                                      CS_RETURN_IF_ERROR(visible.Append("\n"));
                                      CS_RETURN_IF_ERROR(recorded.Append("\n"));
                                      if (name.rfind("word/", 0) == 0 || name.rfind("xl/", 0) == 0 ||
                                          name.rfind("ppt/", 0) == 0) {
                                        any = true;
                                      }
                                      return Status::Ok();
                                    }));
  // An Office file always has a body part: without one it is something else in a zip.
  if (!any) return Unreadable("the Office file has no document, workbook or presentation part");
  // The readings: what a reader sees, the same with recorded changes,
  // what it sees beside it, then every text apart.
  return visible.Take() + std::string(kReadingSeparator) + recorded.Take() + std::string(kReadingSeparator) +
         asides.Take() + std::string(kReadingSeparator) + nodes.Take();
}

// What an OpenDocument part is. Its XML parts (content, styles with the
// headers and footers, metadata, the XML of charts and drawings embedded
// as "Object N/") are read; pictures, thumbnails, the pictures standing in
// for embedded objects and the binary layout cache hold no text. Anything
// else (an embedded object stored in its binary form, a macro library)
// would need a reader of its own: the file is not scannable.
PartKind KindOfOdfPart(const std::string& name) {
  if (EndsWith(name, ".xml") || EndsWith(name, ".rdf")) return PartKind::kXml;
  if (name == "mimetype" || name == "layout-cache" || EndsWith(name, "/")) return PartKind::kIgnored;
  for (std::string_view folder : {"pictures/", "thumbnails/", "objectreplacements/", "configurations2/"}) {
    if (name.rfind(folder, 0) == 0) return PartKind::kIgnored;
  }
  return PartKind::kUnscannable;
}

constexpr std::string_view kOdfText = "urn:oasis:names:tc:opendocument:xmlns:text:1.0";
constexpr std::string_view kOdfTable = "urn:oasis:names:tc:opendocument:xmlns:table:1.0";
constexpr std::string_view kOdfStyle = "urn:oasis:names:tc:opendocument:xmlns:style:1.0";
constexpr std::string_view kOdfOffice = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";
constexpr std::string_view kOdfDraw = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0";
constexpr std::string_view kOdfSvg = "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0";
constexpr std::string_view kOdfMeta = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0";
constexpr std::string_view kOdfConfig = "urn:oasis:names:tc:opendocument:xmlns:config:1.0";
constexpr std::string_view kDublinCore = "http://purl.org/dc/elements/1.1/";

std::string_view NamespaceOf(xmlTextReaderPtr reader) {
  const xmlChar* uri = xmlTextReaderConstNamespaceUri(reader);
  return uri != nullptr ? std::string_view(reinterpret_cast<const char*>(uri)) : std::string_view();
}

std::string_view LocalNameOf(xmlTextReaderPtr reader) {
  const xmlChar* local = xmlTextReaderConstLocalName(reader);
  return local != nullptr ? std::string_view(reinterpret_cast<const char*>(local)) : std::string_view();
}

std::string AttributeOf(xmlTextReaderPtr reader, const char* name, std::string_view ns) {
  xmlChar* v = xmlTextReaderGetAttributeNs(reader, reinterpret_cast<const xmlChar*>(name),
                                           reinterpret_cast<const xmlChar*>(ns.data()));
  std::string out = v != nullptr ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return out;
}


// A text style ("style:family" text) of an OpenDocument part: whether it
// shows its text, when it says so, and the style it inherits from.
struct OdfTextStyle {
  std::optional<bool> hides;  // unset: as its parent
  std::string parent;
};
using OdfStyleMap = std::map<std::string, OdfTextStyle>;

// The text styles of one part: its automatic styles, and the common styles
// (office:styles, in styles.xml) that its directory's parts share.
Status OdfTextStyles(const std::string& xml, OdfStyleMap& automatic, OdfStyleMap& common) {
  CS_ASSIGN_OR_RETURN(XmlReader reader, OpenXml(xml));
  OdfStyleMap* scope = nullptr;      // inside office:automatic-styles or office:styles
  OdfTextStyle* style = nullptr;     // the text style being read
  int scope_depth = -1, style_depth = -1;
  while (true) {
    CS_ASSIGN_OR_RETURN(const bool more, NextXmlNode(reader.get()));
    if (!more) break;
    const int type = xmlTextReaderNodeType(reader.get());
    const int depth = xmlTextReaderDepth(reader.get());
    if (type == XML_READER_TYPE_END_ELEMENT) {
      if (depth == style_depth) style = nullptr, style_depth = -1;
      if (depth == scope_depth) scope = nullptr, scope_depth = -1;
      continue;
    }
    if (type != XML_READER_TYPE_ELEMENT) continue;
    const std::string_view ns = NamespaceOf(reader.get());
    const std::string_view name = LocalNameOf(reader.get());
    const bool empty = xmlTextReaderIsEmptyElement(reader.get()) == 1;
    if (ns == kOdfOffice && (name == "automatic-styles" || name == "styles") && !empty && scope == nullptr) {
      scope = name == "styles" ? &common : &automatic;
      scope_depth = depth;
    } else if (scope != nullptr && ns == kOdfStyle && name == "style" && style == nullptr) {
      if (AttributeOf(reader.get(), "family", kOdfStyle) != "text") continue;
      style = &(*scope)[AttributeOf(reader.get(), "name", kOdfStyle)];
      style->parent = AttributeOf(reader.get(), "parent-style-name", kOdfStyle);
      if (!empty) style_depth = depth;
      else style = nullptr;
    } else if (style != nullptr && ns == kOdfStyle && name == "text-properties") {
      const std::string display = AttributeOf(reader.get(), "display", kOdfText);
      if (display == "none") style->hides = true;
      if (display == "true") style->hides = false;
      if (display == "condition") style->hides = AttributeOf(reader.get(), "condition", kOdfText) == "none";
    }
  }
  return Status::Ok();
}

// The names of the text styles that hide their text, for a part with
// these automatic and common styles: a span in such a style could glue a
// letter into a number that a reader sees whole (as Word's "vanish").
std::set<std::string> OdfHiddenStyles(const OdfStyleMap& automatic, const OdfStyleMap& common) {
  auto hides = [&](const std::string& start) {
    const OdfStyleMap* scope = automatic.count(start) > 0 ? &automatic : &common;
    std::string name = start;
    // Parents are common styles; a loop or a missing parent shows the text.
    for (int hop = 0; hop < 32; ++hop, scope = &common) {
      auto it = scope->find(name);
      if (it == scope->end()) return false;
      if (it->second.hides.has_value()) return *it->second.hides;
      name = it->second.parent;
    }
    return false;
  };
  std::set<std::string> hidden;
  for (const OdfStyleMap* scope : {&automatic, &common}) {
    for (const auto& entry : *scope) {
      if (hides(entry.first)) hidden.insert(entry.first);
    }
  }
  return hidden;
}


// An OpenDocument part, read as XmlText reads an Office one, three times:
// - `visible`, the body as a reader sees it: spans, links and fields of a
//   paragraph joined, whitespace as ODF shows it; hidden text (a hiding
//   style, a field or section shown as none, text:hidden-text that is
//   hidden) left out; paragraphs, headings, line breaks, cells and
//   metadata values end a line;
// - `asides`, what a reader sees beside the body, each joined the same
//   way: footnotes, comments, frames and shapes with their titles, ruby
//   annotations and recorded changes (shown struck through), so none of
//   them is glued into the sentence around it;
// - `nodes`, every text node and text-bearing attribute (a spreadsheet
//   cell's value whatever its display format, a form control's value,
//   formulas, titles, links) on a line of its own, hidden or not.
Status OdfXmlText(const std::string& xml, const std::set<std::string>& hidden_styles, TextSink& visible,
                  TextSink& asides, TextSink& nodes) {
  CS_ASSIGN_OR_RETURN(XmlReader reader, OpenXml(xml));
  // Elements whose content a reader does not see, by depth: on entering one
  // its depth is pushed; text is shown only with the stack empty.
  std::vector<int> hiding;
  int aside_depth = -1;     // inside an aside entered at this depth
  int paragraph_depth = 0;  // inside this many text:p or text:h
  TextSink* seen = &visible;
  while (true) {
    CS_ASSIGN_OR_RETURN(const bool more, NextXmlNode(reader.get()));
    if (!more) break;
    const int type = xmlTextReaderNodeType(reader.get());
    const int depth = xmlTextReaderDepth(reader.get());
    if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) {
      const xmlChar* value = xmlTextReaderConstValue(reader.get());
      if (value == nullptr) continue;
      const std::string_view text = reinterpret_cast<const char*>(value);
      CS_RETURN_IF_ERROR(nodes.Append(text));
      CS_RETURN_IF_ERROR(nodes.Append("\n"));
      if (hiding.empty()) CS_RETURN_IF_ERROR(AppendShown(*seen, text));
      continue;
    }
    if (type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
      // Between two spans of a paragraph it is a space; elsewhere, layout.
      if (hiding.empty() && paragraph_depth > 0) CS_RETURN_IF_ERROR(AppendShown(*seen, " "));
      continue;
    }
    if (type != XML_READER_TYPE_ELEMENT && type != XML_READER_TYPE_END_ELEMENT) continue;
    const std::string_view ns = NamespaceOf(reader.get());
    const std::string_view name = LocalNameOf(reader.get());
    const bool text_ns = ns == kOdfText;
    const bool paragraph = text_ns && (name == "p" || name == "h");
    const bool empty = type == XML_READER_TYPE_ELEMENT && xmlTextReaderIsEmptyElement(reader.get()) == 1;
    if (type == XML_READER_TYPE_ELEMENT) {
      const bool attributes = xmlTextReaderHasAttributes(reader.get()) == 1;
      // Text-bearing attributes, whatever their namespace.
      while (attributes && xmlTextReaderMoveToNextAttribute(reader.get()) == 1) {
        const std::string_view attribute = LocalNameOf(reader.get());
        for (std::string_view bearing : {"value", "string-value", "current-value", "formula", "title", "description",
                                         "name", "label", "href", "string-value-if-true", "string-value-if-false"}) {
          if (attribute != bearing) continue;
          const xmlChar* v = xmlTextReaderConstValue(reader.get());
          if (v != nullptr && *v != 0) {
            CS_RETURN_IF_ERROR(nodes.Append(reinterpret_cast<const char*>(v)));
            CS_RETURN_IF_ERROR(nodes.Append("\n"));
          }
        }
      }
      if (attributes) xmlTextReaderMoveToElement(reader.get());
      const std::string style = attributes ? AttributeOf(reader.get(), "style-name", kOdfText) : "";
      // A text style names a span or a field, never a paragraph or heading
      // (whose paragraph style may share the name).
      const bool hides = (!paragraph && !style.empty() && hidden_styles.count(style) > 0) ||
                         (attributes && AttributeOf(reader.get(), "display", kOdfText) == "none") ||
                         (text_ns && name == "hidden-text" && AttributeOf(reader.get(), "is-hidden", kOdfText) == "true");
      const bool aside = (text_ns && (name == "note" || name == "ruby-text" || name == "tracked-changes")) ||
                         (ns == kOdfOffice && name == "annotation") || ns == kOdfDraw ||
                         (ns == kOdfSvg && (name == "title" || name == "desc"));
      // Spaces, tabs and line breaks, whether written empty or not.
      if (hiding.empty() && text_ns && (name == "s" || name == "tab")) CS_RETURN_IF_ERROR(AppendShown(*seen, " "));
      if (hiding.empty() && text_ns && name == "line-break") CS_RETURN_IF_ERROR(seen->Append("\n"));
      if (empty) continue;
      if (hides) hiding.push_back(depth);
      if (aside && aside_depth < 0) {
        aside_depth = depth;
        seen = &asides;
      }
      if (paragraph) ++paragraph_depth;
      continue;
    }
    // An element ends.
    if (!hiding.empty() && hiding.back() == depth) hiding.pop_back();
    if (paragraph && paragraph_depth > 0) --paragraph_depth;
    const bool line = paragraph || (text_ns && name == "note-citation") ||
                      (ns == kOdfTable && (name == "table-cell" || name == "covered-table-cell")) ||
                      ns == kOdfMeta || ns == kDublinCore || ns == kOdfConfig;
    if (line && hiding.empty()) CS_RETURN_IF_ERROR(seen->Append("\n"));
    if (depth == aside_depth) {
      aside_depth = -1;
      seen = &visible;
      CS_RETURN_IF_ERROR(asides.Append("\n"));
    }
  }
  // Nothing is glued across parts.
  CS_RETURN_IF_ERROR(visible.Append("\n"));
  return Status::Ok();
}

Result<std::string> OdfText(std::string_view bytes, const Limits& limits) {
  std::vector<std::pair<std::string, std::string>> parts;
  int64_t held = 0;
  CS_RETURN_IF_ERROR(ForEachZipPart(bytes, limits, "OpenDocument file", KindOfOdfPart,
                                    [&](const std::string& name, std::string& xml) -> Status {
                                      held += static_cast<int64_t>(xml.size());
                                      if (held > limits.max_part_bytes) {
                                        return TooLarge("the OpenDocument file's parts decompress to more than " +
                                                        std::to_string(limits.max_part_bytes) + " bytes");
                                      }
                                      parts.emplace_back(name, std::move(xml));
                                      return Status::Ok();
                                    }));
  bool content = false;
  for (const auto& part : parts) {
    // Encrypted parts are listed in the manifest; their bytes are not XML.
    if (part.first == "meta-inf/manifest.xml" && part.second.find("encryption-data") != std::string::npos) {
      return FailedPrecondition("document_encrypted", "the OpenDocument file is protected by a password");
    }
    if (part.first == "content.xml") content = true;
  }
  if (!content) return Unreadable("the OpenDocument file has no content part");
  // Styles are scoped: a part's automatic styles are its own, common styles
  // belong to the parts of one directory (an embedded "Object N/" has its
  // own), so no part can hide another's text by naming a style alike.
  auto directory = [](const std::string& name) { return name.substr(0, name.rfind('/') + 1); };
  std::map<std::string, OdfStyleMap> automatic;  // by part
  std::map<std::string, OdfStyleMap> common;     // by directory
  for (const auto& part : parts) {
    CS_RETURN_IF_ERROR(OdfTextStyles(part.second, automatic[part.first], common[directory(part.first)]));
  }
  int64_t used = 0;
  TextSink visible(limits.max_text_bytes, &used);
  TextSink asides(limits.max_text_bytes, &used);
  TextSink nodes(limits.max_text_bytes, &used);
  for (const auto& part : parts) {
    const std::set<std::string> hidden = OdfHiddenStyles(automatic[part.first], common[directory(part.first)]);
    CS_RETURN_IF_ERROR(OdfXmlText(part.second, hidden, visible, asides, nodes));
  }
  return visible.Take() + std::string(kReadingSeparator) + asides.Take() + std::string(kReadingSeparator) +
         nodes.Take();
}

}  // namespace

void WarmUpReaders() {
  QuietPoppler();
  tzset();
  WarmUpOcr();  // its model is a file; without it, recognition reports itself unavailable
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
  if (mime_type == "image/jpeg" || mime_type == "image/png" || mime_type == "image/webp") return Format::kImage;
  if (mime_type.substr(0, 46) == "application/vnd.openxmlformats-officedocument.") return Format::kOoxml;
  // Text, spreadsheet, presentation and their templates (and the flat,
  // single-XML variants, which are not zips and so come back unreadable).
  for (std::string_view kind : {"text", "spreadsheet", "presentation"}) {
    const std::string prefix = "application/vnd.oasis.opendocument." + std::string(kind);
    if (mime_type.substr(0, prefix.size()) == prefix) return Format::kOpenDocument;
  }
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
    case Format::kOpenDocument: return OdfText(bytes, limits);
    case Format::kImage: {
      CS_ASSIGN_OR_RETURN(std::string recognised, RecognizeEncodedImage(bytes, limits.max_image_pixels));
      const std::string both = WithDigitsJoined(recognised);
      TextSink sink(limits.max_text_bytes);
      CS_RETURN_IF_ERROR(sink.Append(both));
      return sink.Take();
    }
    case Format::kUnsupported: break;
  }
  return FailedPrecondition("document_unsupported", "documents of this type cannot be scanned");
}

}  // namespace cs::docscan
