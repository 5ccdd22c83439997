// The text a PDF holds outside its pages, read with qpdf. Only this file
// includes qpdf. It is compiled as C++17 under clang (the fuzzing build):
// qpdf 11.3's JSON.hh holds a std::vector of a type still incomplete there,
// which C++20's constexpr containers reject.
#include "docscan/pdf_objects.h"

#include <qpdf/QPDF.hh>
#include <qpdf/QPDFLogger.hh>

#include <exception>
#include <memory>
#include <set>
#include <utility>

namespace cs::docscan {

namespace {

// A PDF text string as a viewer shows it: qpdf keeps the language marks
// of UTF-16 strings (ESC, a language code, ESC), which viewers drop, so a
// mark inside a number would hide it. NULs go too.
std::string ShownPdfString(const std::string& utf8) {
  std::string out;
  out.reserve(utf8.size());
  bool in_mark = false;
  for (char c : utf8) {
    if (c == '\x1b') {
      in_mark = !in_mark;
      continue;
    }
    if (!in_mark && c != '\0') out.push_back(c);
  }
  return out;
}

}  // namespace

Result<PdfObjectTexts> ReadPdfObjects(std::string_view bytes, int pages, int64_t max_bytes) {
  PdfObjectTexts found;
  int64_t held = 0;
  // Bounded as the text is: a value past the limit is refused, not cut.
  auto keep = [&held, max_bytes](std::vector<std::string>& into, std::string text) -> Status {
    held += static_cast<int64_t>(text.size());
    if (held > max_bytes) {
      return FailedPrecondition("document_too_large",
                                "the document holds more than " + std::to_string(max_bytes) + " bytes of text");
    }
    into.push_back(std::move(text));
    return Status::Ok();
  };
  auto line = [&](const std::string& text) -> Status {
    std::string shown = ShownPdfString(text);
    if (shown.empty()) return Status::Ok();
    return keep(found.values, std::move(shown));
  };
  // A string, a name, a stream's bytes, or each string of an array (the
  // values of a list where several may be chosen).
  auto string_of = [&line](QPDFObjectHandle value) -> Status {
    for (int i = 0; value.isArray() && i < value.getArrayNItems(); ++i) {
      QPDFObjectHandle item = value.getArrayItem(i);
      if (item.isString()) CS_RETURN_IF_ERROR(line(item.getUTF8Value()));
    }
    if (value.isString()) return line(value.getUTF8Value());
    if (value.isName()) return line(value.getName().substr(1));
    if (value.isStream()) {
      std::shared_ptr<Buffer> data = value.getStreamData(qpdf_dl_generalized);
      return line(std::string(reinterpret_cast<const char*>(data->getBuffer()), data->getSize()));
    }
    return Status::Ok();
  };
  // Rich text (a comment's /RC, a field's /RV): XHTML whose spans a viewer
  // joins, parsed by the caller.
  auto rich_text_of = [&](QPDFObjectHandle value) -> Status {
    std::string xhtml;
    if (value.isString()) xhtml = ShownPdfString(value.getUTF8Value());
    if (value.isStream()) {
      std::shared_ptr<Buffer> data = value.getStreamData(qpdf_dl_generalized);
      xhtml.assign(reinterpret_cast<const char*>(data->getBuffer()), data->getSize());
    }
    if (xhtml.empty()) return Status::Ok();
    return keep(found.rich_texts, std::move(xhtml));
  };
  auto refuse = [](const char* what) {
    return FailedPrecondition("document_unsupported", std::string("the PDF carries ") + what + ", which is not read");
  };
  // Damaged or hostile files may make any of these trees huge or circular.
  constexpr int64_t kMaxObjects = 200000;
  int64_t visited = 0;
  auto visit = [&visited]() -> Status {
    if (++visited > kMaxObjects) {
      return FailedPrecondition("document_too_large", "the PDF has too many comments, fields or bookmarks");
    }
    return Status::Ok();
  };
  try {
    QPDF pdf;
    // qpdf reports damage to standard output and error; in the child,
    // standard output carries the text.
    std::shared_ptr<QPDFLogger> logger = QPDFLogger::create();
    logger->setInfo(logger->discard());
    logger->setWarn(logger->discard());
    logger->setError(logger->discard());
    pdf.setLogger(logger);
    pdf.setSuppressWarnings(true);
    pdf.processMemoryFile("document", bytes.data(), bytes.size());
    QPDFObjectHandle root = pdf.getRoot();
    if (root.getKey("/AF").isArray()) return refuse("associated files");
    // The object model is walked by hand rather than through qpdf's
    // helper classes: what a viewer shows is read wherever it sits (a
    // widget whose field the catalog does not list), and loops are explicit.
    const std::vector<QPDFObjectHandle>& all_pages = pdf.getAllPages();
    if (static_cast<int64_t>(all_pages.size()) != pages) {
      return FailedPrecondition("document_unreadable", "the PDF's page tree does not read the same twice");
    }
    std::set<QPDFObjGen> seen;
    for (QPDFObjectHandle page : all_pages) {
      if (page.getKey("/AF").isArray()) return refuse("associated files");
      QPDFObjectHandle annotations = page.getKey("/Annots");
      const int count = annotations.isArray() ? annotations.getArrayNItems() : 0;
      for (int i = 0; i < count; ++i) {
        CS_RETURN_IF_ERROR(visit());
        QPDFObjectHandle a = annotations.getArrayItem(i);
        if (!a.isDictionary()) continue;
        QPDFObjectHandle subtype = a.getKey("/Subtype");
        const std::string kind = subtype.isName() ? subtype.getName() : "";
        if (kind == "/FileAttachment" || kind == "/RichMedia" || kind == "/Screen" || kind == "/Movie" ||
            kind == "/Sound" || kind == "/3D" || a.hasKey("/FS") || a.getKey("/AF").isArray()) {
          return refuse("files in its comments");
        }
        for (const char* key : {"/Contents", "/T", "/Subj", "/OverlayText"}) CS_RETURN_IF_ERROR(string_of(a.getKey(key)));
        CS_RETURN_IF_ERROR(rich_text_of(a.getKey("/RC")));
        if (kind != "/Widget") continue;
        // A widget shows its field's value, which may sit on the widget or
        // on any ancestor, whether or not the catalog lists the field.
        QPDFObjectHandle caption = a.getKey("/MK");
        if (caption.isDictionary()) CS_RETURN_IF_ERROR(string_of(caption.getKey("/CA")));
        QPDFObjectHandle field = a;
        for (int hop = 0; hop < 32 && field.isDictionary(); ++hop, field = field.getKey("/Parent")) {
          if (field.isIndirect() && !seen.insert(field.getObjGen()).second) break;
          for (const char* key : {"/V", "/DV", "/TU"}) CS_RETURN_IF_ERROR(string_of(field.getKey(key)));
          CS_RETURN_IF_ERROR(rich_text_of(field.getKey("/RV")));
          QPDFObjectHandle options = field.getKey("/Opt");
          for (int j = 0; options.isArray() && j < options.getArrayNItems(); ++j) {
            CS_RETURN_IF_ERROR(string_of(options.getArrayItem(j)));  // [export value, shown text] or text
          }
        }
      }
    }
    // Form fields the catalog lists, and their kids: a field without a
    // widget on a page still holds a value a program reads. A walk of its
    // own: a parent read above for its widget still has kids to visit.
    seen.clear();
    std::vector<QPDFObjectHandle> pending;
    QPDFObjectHandle form = root.getKey("/AcroForm");
    if (form.isDictionary() && form.hasKey("/XFA")) return refuse("an XFA form");
    QPDFObjectHandle fields = form.isDictionary() ? form.getKey("/Fields") : QPDFObjectHandle::newNull();
    for (int i = 0; fields.isArray() && i < fields.getArrayNItems(); ++i) pending.push_back(fields.getArrayItem(i));
    while (!pending.empty()) {
      CS_RETURN_IF_ERROR(visit());
      QPDFObjectHandle field = pending.back();
      pending.pop_back();
      if (!field.isDictionary() || (field.isIndirect() && !seen.insert(field.getObjGen()).second)) continue;
      for (const char* key : {"/V", "/DV", "/TU"}) CS_RETURN_IF_ERROR(string_of(field.getKey(key)));
      CS_RETURN_IF_ERROR(rich_text_of(field.getKey("/RV")));
      QPDFObjectHandle options = field.getKey("/Opt");
      for (int i = 0; options.isArray() && i < options.getArrayNItems(); ++i) {
        CS_RETURN_IF_ERROR(string_of(options.getArrayItem(i)));
      }
      QPDFObjectHandle kids = field.getKey("/Kids");
      for (int i = 0; kids.isArray() && i < kids.getArrayNItems(); ++i) pending.push_back(kids.getArrayItem(i));
    }
    // Bookmarks: a damaged file may link them in a loop.
    seen.clear();
    QPDFObjectHandle outlines = root.getKey("/Outlines");
    if (outlines.isDictionary()) pending.push_back(outlines.getKey("/First"));
    while (!pending.empty()) {
      CS_RETURN_IF_ERROR(visit());
      QPDFObjectHandle item = pending.back();
      pending.pop_back();
      if (!item.isDictionary() || (item.isIndirect() && !seen.insert(item.getObjGen()).second)) continue;
      CS_RETURN_IF_ERROR(string_of(item.getKey("/Title")));
      pending.push_back(item.getKey("/Next"));
      pending.push_back(item.getKey("/First"));
    }
    QPDFObjectHandle info = pdf.getTrailer().getKey("/Info");
    if (info.isDictionary()) {
      for (auto& entry : info.getDictAsMap()) {
        if (entry.second.isString()) CS_RETURN_IF_ERROR(line(entry.second.getUTF8Value()));
      }
    }
    QPDFObjectHandle metadata = root.getKey("/Metadata");
    if (metadata.isStream()) {
      std::shared_ptr<Buffer> data = metadata.getStreamData(qpdf_dl_generalized);
      std::vector<std::string> packet;
      CS_RETURN_IF_ERROR(keep(packet, std::string(reinterpret_cast<const char*>(data->getBuffer()), data->getSize())));
      found.xmp = std::move(packet.front());
    }
  } catch (const std::exception&) {
    // poppler read the pages, but their surroundings cannot be: what they
    // hold would go unchecked.
    return FailedPrecondition("document_unreadable", "the PDF's comments, forms or properties cannot be read");
  }
  return found;
}


}  // namespace cs::docscan
