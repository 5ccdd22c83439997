// The printable consent proof of proof_pdf.h, rendered with libharu.
#include "consent/proof_pdf.h"

#include <hpdf.h>

#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "common/sha256.h"
#include "common/strings.h"

namespace cs {

namespace {

constexpr const char* kFontFiles[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
};

constexpr float kMargin = 50;
constexpr float kBodySize = 9;
constexpr float kLeading = 12.5f;

// libharu reports errors through a callback; the first one is kept and
// checked after each step that can fail.
struct ErrorSink {
  HPDF_STATUS error = HPDF_OK;
  HPDF_STATUS detail = HPDF_OK;
};

void OnError(HPDF_STATUS error, HPDF_STATUS detail, void* user_data) {
  auto* sink = static_cast<ErrorSink*>(user_data);
  if (sink->error == HPDF_OK) {
    sink->error = error;
    sink->detail = detail;
  }
}

using DocPtr = std::unique_ptr<std::remove_pointer_t<HPDF_Doc>, void (*)(HPDF_Doc)>;

// Writes lines top to bottom, wrapping words and opening pages as needed.
class Writer {
 public:
  Writer(HPDF_Doc doc, HPDF_Font font, bool unicode, ErrorSink& sink)
      : doc_(doc), font_(font), unicode_(unicode), sink_(sink) {}

  void Title(std::string_view text) {
    Paragraph(text, 16, 22);
    Gap(4);
  }
  void Heading(std::string_view text) {
    Gap(8);
    Paragraph(text, 12, 17);
  }
  void Line(std::string_view text, float indent = 0) { Paragraph(text, kBodySize, kLeading, indent); }
  void Gap(float points) { y_ -= points; }

  // Each '\n' starts a new line; long lines wrap at word boundaries.
  void Paragraph(std::string_view text, float size, float leading, float indent = 0) {
    std::string printable = Printable(text);
    std::string_view rest = printable;
    while (true) {
      size_t nl = rest.find('\n');
      WrapLine(rest.substr(0, nl), size, leading, indent);
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
  }

  void Finish() {
    if (page_ != nullptr) Footer();
  }

 private:
  std::string Printable(std::string_view text) const {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
      if (c == '\t' || c == '\r') {
        out.push_back(' ');
      } else if (c < 0x20 && c != '\n') {
        continue;
      } else if (c >= 0x80 && !unicode_) {
        // Helvetica cannot show it; continuation bytes are dropped, so one '?' per character.
        if (c >= 0xC0) out.push_back('?');
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    return out;
  }

  void WrapLine(std::string_view line, float size, float leading, float indent) {
    const float width = HPDF_Page_GetWidth(Page()) - 2 * kMargin - indent;
    std::string remaining(line);
    do {
      if (y_ - leading < kMargin + 20) NewPage();
      HPDF_Page page = Page();
      HPDF_Page_SetFontAndSize(page, font_, size);
      HPDF_REAL used = 0;
      HPDF_UINT fit = HPDF_Page_MeasureText(page, remaining.c_str(), width, HPDF_TRUE, &used);
      if (fit == 0) fit = HPDF_Page_MeasureText(page, remaining.c_str(), width, HPDF_FALSE, &used);  // one long word
      if (fit == 0) fit = static_cast<HPDF_UINT>(remaining.size());
      std::string piece = remaining.substr(0, fit);
      remaining.erase(0, fit);
      while (!remaining.empty() && remaining.front() == ' ') remaining.erase(0, 1);
      y_ -= leading;
      HPDF_Page_BeginText(page);
      HPDF_Page_TextOut(page, kMargin + indent, y_, piece.c_str());
      HPDF_Page_EndText(page);
    } while (!remaining.empty() && sink_.error == HPDF_OK);
  }

  HPDF_Page Page() {
    if (page_ == nullptr) NewPage();
    return page_;
  }

  void NewPage() {
    if (page_ != nullptr) Footer();
    page_ = HPDF_AddPage(doc_);
    if (page_ == nullptr) return;
    HPDF_Page_SetSize(page_, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    ++pages_;
    y_ = HPDF_Page_GetHeight(page_) - kMargin;
  }

  void Footer() {
    const std::string text = "Consentry consent proof, page " + std::to_string(pages_);
    HPDF_Page_BeginText(page_);
    HPDF_Page_SetFontAndSize(page_, font_, 7);
    HPDF_Page_TextOut(page_, kMargin, kMargin - 20, text.c_str());
    HPDF_Page_EndText(page_);
  }

  HPDF_Doc doc_;
  HPDF_Font font_;
  bool unicode_;
  ErrorSink& sink_;
  HPDF_Page page_ = nullptr;
  int pages_ = 0;
  float y_ = 0;
};

std::string EventLine(const ConsentEvent& e) {
  return "#" + std::to_string(e.seq) + "  " + FormatRfc3339Millis(e.at_ms) + "  " + e.purpose_id + ": " + e.from_state +
         " -> " + e.to_state + "  (" + e.reason + ")";
}

}  // namespace

Result<std::string> RenderConsentProofPdf(const ConsentProof& proof) {
  ErrorSink sink;
  DocPtr doc(HPDF_New(&OnError, &sink), &HPDF_Free);
  if (!doc) return Internal("cannot start a PDF document");
  HPDF_SetCompressionMode(doc.get(), HPDF_COMP_ALL);
  HPDF_SetInfoAttr(doc.get(), HPDF_INFO_TITLE, "Consent proof");
  HPDF_SetInfoAttr(doc.get(), HPDF_INFO_CREATOR, "Consentry");

  HPDF_Font font = nullptr;
  bool unicode = false;
  for (const char* path : kFontFiles) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    HPDF_UseUTFEncodings(doc.get());
    const char* name = HPDF_LoadTTFontFromFile(doc.get(), path, HPDF_TRUE);
    if (name != nullptr) font = HPDF_GetFont(doc.get(), name, "UTF-8");
    if (font != nullptr) {
      unicode = true;
      break;
    }
    // Try the next one; libharu refuses every call until its error is reset.
    HPDF_ResetError(doc.get());
    sink = ErrorSink{};
  }
  if (font == nullptr) font = HPDF_GetFont(doc.get(), "Helvetica", nullptr);
  if (font == nullptr || sink.error != HPDF_OK) {
    return Internal("cannot load a font for the PDF (libharu error " + std::to_string(sink.error) + ")");
  }

  Writer out(doc.get(), font, unicode, sink);
  out.Title("Consent proof");
  out.Line("Controller: " + proof.tenant_name + " (tenant " + proof.tenant_id + ")");
  out.Line("Data subject (pseudonym): " + proof.subject);
  out.Line("Generated: " + FormatRfc3339Millis(proof.generated_at_ms));
  out.Gap(4);
  out.Line("Every recorded change of this subject's consents, with its evidence (GDPR Art. 7(1)). Each change is also "
           "sealed in the tamper-evident audit ledger: its entry (action consent.<state>) carries the evidence SHA-256 "
           "printed below. Phone numbers are not kept; the subject is identified by the tenant's pseudonym.");

  out.Heading("Current consents");
  if (proof.consents.empty()) out.Line("None recorded.");
  for (const ConsentRecord& c : proof.consents) {
    out.Line(c.purpose_id + ": " + c.state + " since " + FormatRfc3339Millis(c.updated_at_ms) +
             (c.explicit_consent ? ", explicit (GDPR Art. 9)" : ""));
    out.Line("notice " + c.notice_version + ", SHA-256 " + c.notice_hash, 12);
  }

  out.Heading("Sale or sharing (CCPA/CPRA)");
  if (proof.sale_sharing && proof.sale_sharing->opted_out) {
    out.Line("Opted out since " + FormatRfc3339Millis(proof.sale_sharing->opted_out_at_ms) + " (" +
             proof.sale_sharing->source + (proof.sale_sharing->gpc ? ", Global Privacy Control" : "") + ").");
  } else {
    out.Line("Not opted out.");
  }

  out.Heading("History");
  if (proof.events.empty()) out.Line("No changes recorded.");
  for (const ConsentEvent& e : proof.events) {
    out.Gap(3);
    out.Line(EventLine(e));
    out.Line("actor: " + e.actor, 12);
    const std::string evidence = e.evidence.empty() ? "{}" : e.evidence;
    out.Line("evidence: " + evidence, 12);
    out.Line("evidence SHA-256: " + HexEncode(Sha256({evidence})), 12);
  }

  out.Heading("Notices referred to");
  if (proof.notices.empty()) out.Line("None stored in the gateway.");
  for (const Notice& n : proof.notices) {
    out.Gap(3);
    out.Line("Version " + n.version + " (" + n.language + "), valid from " + FormatRfc3339Millis(n.valid_from_ms));
    out.Line("SHA-256 of the text: " + n.sha256, 12);
    out.Paragraph(n.text, kBodySize, kLeading, 12);
  }

  out.Finish();
  if (sink.error != HPDF_OK) {
    return Internal("the PDF could not be laid out (libharu error " + std::to_string(sink.error) + ")");
  }

  if (HPDF_SaveToStream(doc.get()) != HPDF_OK) return Internal("the PDF could not be written");
  HPDF_UINT32 size = HPDF_GetStreamSize(doc.get());
  std::string bytes(size, '\0');
  HPDF_UINT32 read = size;
  HPDF_STATUS rc = HPDF_ReadFromStream(doc.get(), reinterpret_cast<HPDF_BYTE*>(bytes.data()), &read);
  if ((rc != HPDF_OK && rc != HPDF_STREAM_EOF) || read != size) {
    return Internal("the PDF could not be read back");
  }
  return bytes;
}

}  // namespace cs
