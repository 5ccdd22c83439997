// The text of documents, as the content scanner gets it: real PDFs (made
// with libharu) and Office files (zipped with libarchive), damaged,
// encrypted and oversized ones.
#include "docscan/document_text.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <hpdf.h>
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-image.h>
#include <poppler/cpp/poppler-page-renderer.h>
#include <poppler/cpp/poppler-page.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cs::docscan {
namespace {

// The bytes of `pdf`, which is freed.
std::string SavePdf(HPDF_Doc pdf) {
  HPDF_SaveToStream(pdf);
  HPDF_ResetStream(pdf);
  std::string out;
  while (true) {
    HPDF_BYTE buffer[4096];
    HPDF_UINT32 n = sizeof buffer;
    HPDF_ReadFromStream(pdf, buffer, &n);
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(buffer), n);
  }
  HPDF_Free(pdf);
  return out;
}

// A one-page PDF with `lines` of text, and `attachment` attached when set.
std::string MakePdf(const std::vector<std::string>& lines, const std::string& attachment = "") {
  HPDF_Doc pdf = HPDF_New(nullptr, nullptr);
  HPDF_Page page = HPDF_AddPage(pdf);
  HPDF_Font font = HPDF_GetFont(pdf, "Helvetica", nullptr);
  HPDF_Page_BeginText(page);
  HPDF_Page_SetFontAndSize(page, font, 12);
  float y = 750;
  for (const std::string& line : lines) {
    HPDF_Page_TextOut(page, 50, y, line.c_str());
    y -= 20;
  }
  HPDF_Page_EndText(page);
  if (!attachment.empty()) HPDF_AttachFile(pdf, attachment.c_str());
  return SavePdf(pdf);
}

// A picture of a page holding `lines`, as a phone or a scanner makes one:
// a PDF rendered by poppler at 300 dpi, saved as PNG.
std::string PagePicture(const std::vector<std::string>& lines) {
  const std::string pdf = MakePdf(lines);
  std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(pdf.data(), static_cast<int>(pdf.size())));
  std::unique_ptr<poppler::page> page(doc->create_page(0));
  poppler::page_renderer renderer;
  poppler::image picture = renderer.render_page(page.get(), 300, 300, 0, 0, 2550, 900);
  const std::string path = ::testing::TempDir() + "/docscan_page.png";
  picture.save(path, "png");
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A scanned PDF: one page holding nothing but `png`.
std::string ScannedPdf(const std::string& png) {
  HPDF_Doc pdf = HPDF_New(nullptr, nullptr);
  HPDF_Page page = HPDF_AddPage(pdf);
  HPDF_Image image = HPDF_LoadPngImageFromMem(pdf, reinterpret_cast<const HPDF_BYTE*>(png.data()),
                                              static_cast<HPDF_UINT>(png.size()));
  // 2550 x 900 pixels at 300 dpi.
  HPDF_Page_DrawImage(page, image, 0, 842 - 216, 612, 216);
  return SavePdf(pdf);
}

// A zip archive of `parts` (name, content), deflated, as Office writes them.
std::string MakeZip(const std::vector<std::pair<std::string, std::string>>& parts) {
  std::vector<char> buffer(1 << 20);
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_memory(a, buffer.data(), buffer.size(), &used);
  for (const auto& [name, content] : parts) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buffer.data(), used);
}

// A PDF written by hand from numbered `objects` (object 1 is the catalog),
// with a correct cross-reference table: libharu cannot write form fields,
// outlines with arbitrary titles or XMP metadata. `info`, when set, is the
// document information dictionary's object number.
std::string HandWrittenPdf(const std::vector<std::string>& objects, int info = 0) {
  std::string pdf = "%PDF-1.7\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t offset : offsets) {
    char entry[32];
    std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);
    pdf += entry;
  }
  pdf += "trailer\n<</Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R" +
         (info > 0 ? " /Info " + std::to_string(info) + " 0 R" : "") + ">>\nstartxref\n" + std::to_string(xref) +
         "\n%%EOF\n";
  return pdf;
}

// A stream object holding `data`.
std::string Stream(const std::string& dictionary, const std::string& data) {
  return "<<" + dictionary + " /Length " + std::to_string(data.size()) + ">>\nstream\n" + data + "\nendstream";
}

// An OpenDocument text file whose body is `body_xml`; `styles_xml` goes
// into office:automatic-styles; more `parts` may be added.
std::string Odt(const std::string& body_xml, const std::string& styles_xml = "",
                std::vector<std::pair<std::string, std::string>> parts = {}) {
  const std::string ns =
      " xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\""
      " xmlns:style=\"urn:oasis:names:tc:opendocument:xmlns:style:1.0\""
      " xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\""
      " xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\""
      " xmlns:draw=\"urn:oasis:names:tc:opendocument:xmlns:drawing:1.0\""
      " xmlns:svg=\"urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0\""
      " xmlns:dc=\"http://purl.org/dc/elements/1.1/\"";
  parts.insert(parts.begin(), {{"mimetype", "application/vnd.oasis.opendocument.text"},
                               {"content.xml", "<?xml version=\"1.0\"?><office:document-content" + ns +
                                                   "><office:automatic-styles>" + styles_xml +
                                                   "</office:automatic-styles><office:body><office:text>" + body_xml +
                                                   "</office:text></office:body></office:document-content>"},
                               {"Pictures/1.png", "\x89PNG"},
                               {"META-INF/manifest.xml", "<manifest/>"}});
  return MakeZip(parts);
}

// The readings of an extracted text, in order (see document_text.cc).
std::vector<std::string> Readings(const std::string& text) {
  std::vector<std::string> out;
  size_t from = 0;
  while (true) {
    const size_t at = text.find("\n\f\n", from);
    out.push_back(text.substr(from, at == std::string::npos ? std::string::npos : at - from));
    if (at == std::string::npos) return out;
    from = at + 3;
  }
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string Docx(const std::string& body_xml) {
  return MakeZip({{"[Content_Types].xml", "<Types/>"},
                  {"word/styles.xml", "<w:styles xmlns:w=\"w\"/>"},
                  {"word/media/image1.png", "\x89PNG"},
                  {"word/document.xml",
                   "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/"
                   "wordprocessingml/2006/main\"><w:body>" +
                       body_xml + "</w:body></w:document>"}});
}

TEST(DocumentTextTest, TheFormatFollowsTheMimeType) {
  EXPECT_EQ(FormatOf("text/plain"), Format::kPlainText);
  EXPECT_EQ(FormatOf("application/pdf"), Format::kPdf);
  EXPECT_EQ(FormatOf("application/vnd.openxmlformats-officedocument.wordprocessingml.document"), Format::kOoxml);
  EXPECT_EQ(FormatOf("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), Format::kOoxml);
  EXPECT_EQ(FormatOf("text/csv"), Format::kPlainText);
  EXPECT_EQ(FormatOf("application/vnd.oasis.opendocument.text"), Format::kOpenDocument);
  EXPECT_EQ(FormatOf("application/vnd.oasis.opendocument.spreadsheet"), Format::kOpenDocument);
  EXPECT_EQ(FormatOf("application/vnd.oasis.opendocument.presentation-template"), Format::kOpenDocument);
  EXPECT_EQ(FormatOf("application/vnd.oasis.opendocument.graphics"), Format::kUnsupported);
  EXPECT_EQ(FormatOf("application/msword"), Format::kUnsupported);
  EXPECT_EQ(FormatOf("image/jpeg"), Format::kImage);
  EXPECT_EQ(FormatOf("image/webp"), Format::kImage);
  EXPECT_EQ(FormatOf("image/gif"), Format::kUnsupported);
  EXPECT_EQ(ExtractText(Format::kUnsupported, "x").status().machine_code(), "document_unsupported");
}

// covers: CHAN-04 (a card number in a PDF is found like one in a message)
TEST(DocumentTextTest, APdfsTextIsWhatAReaderSees) {
  const std::string pdf = MakePdf({"Invoice 2026-118", "Paid with card 4111 1111 1111 1111", "Diagnosis: diabetes"});
  Result<std::string> text = ExtractText(Format::kPdf, pdf);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("4111 1111 1111 1111"), std::string::npos) << *text;
  EXPECT_NE(text->find("Diagnosis: diabetes"), std::string::npos) << *text;
  // Damaged: the first half of the file only.
  Result<std::string> damaged = ExtractText(Format::kPdf, std::string_view(pdf).substr(0, 40));
  EXPECT_EQ(damaged.status().machine_code(), "document_unreadable");
  Limits tight;
  tight.max_text_bytes = 10;
  EXPECT_EQ(ExtractText(Format::kPdf, pdf, tight).status().machine_code(), "document_too_large");
}

// covers: CHAN-04
TEST(DocumentTextTest, AnOfficeFilesTextJoinsRunsAndSeparatesParagraphs) {
  // Word splits text into runs wherever formatting changes: a card number
  // typed with one digit group in bold is four runs, joined here.
  const std::string docx = Docx(
      "<w:p><w:r><w:t>Card: 4111 </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>1111</w:t></w:r>"
      "<w:r><w:t xml:space=\"preserve\"> 1111 1111</w:t></w:r></w:p>"
      "<w:p><w:r><w:t>Tom &amp; Jerry</w:t></w:r></w:p>");
  Result<std::string> text = ExtractText(Format::kOoxml, docx);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  // What a reader sees first, then every text node on a line of its own.
  const size_t seen = text->find("Card: 4111 1111 1111 1111\nTom & Jerry\n");
  const size_t apart = text->find("Card: 4111 \n1111\n 1111 1111\nTom & Jerry\n");
  EXPECT_NE(seen, std::string::npos) << *text;
  EXPECT_NE(apart, std::string::npos) << *text;
  EXPECT_LT(seen, apart) << *text;
  // A workbook: shared strings and numeric cell values, one per line.
  const std::string xlsx =
      MakeZip({{"xl/sharedStrings.xml", "<sst><si><t>IBAN</t></si><si><t>DE89370400440532013000</t></si></sst>"},
               {"xl/worksheets/sheet1.xml", "<worksheet><sheetData><row><c><f>A2</f><v>4111111111111111</v></c>"
                                            "<c t=\"s\"><v>0</v></c></row></sheetData></worksheet>"}});
  Result<std::string> cells = ExtractText(Format::kOoxml, xlsx);
  ASSERT_TRUE(cells.ok()) << cells.status().ToString();
  EXPECT_NE(cells->find("DE89370400440532013000\n"), std::string::npos) << *cells;
  EXPECT_NE(cells->find("4111111111111111\n"), std::string::npos) << *cells;
}

// What a reader does not see does not count, and cannot hide what it does:
// a hidden run (hidden by itself, its character style or its paragraph's
// style), a deleted revision, a text box or a field code glued to a card
// number.
TEST(DocumentTextTest, HiddenDeletedAndFieldTextIsLeftOutAndPartNamesDoNotMatter) {
  const std::string w = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";
  const std::string docx = MakeZip(
      {{"Word/Document.xml",  // readers compare part names without case
        "<w:document " + w + "><w:body><w:p>"
        "<w:r><w:rPr><w:vanish/></w:rPr><w:t>x</w:t></w:r><w:r><w:t>4111 1111 1111 1111</w:t></w:r>"
        "<w:del><w:r><w:delText>y</w:delText></w:r></w:del><w:r><w:instrText>PAGE</w:instrText></w:r>"
        "<w:r><w:rPr><w:rStyle w:val=\"Ghost\"/></w:rPr><w:t>g</w:t></w:r>"
        "<w:r><w:pict><w:txbxContent><w:p><w:r><w:t>Box</w:t></w:r></w:p></w:txbxContent></w:pict></w:r>"
        "<w:r><w:rPr><w:vanish w:val=\"0\"/></w:rPr><w:t> shown</w:t></w:r></w:p>"
        // Runs of a paragraph whose style hides them, except the one that says otherwise.
        "<w:p><w:pPr><w:pStyle w:val=\"Quiet\"/></w:pPr><w:r><w:t>5555 5555</w:t></w:r><w:r><w:t>q</w:t></w:r>"
        "<w:r><w:rPr><w:rStyle w:val=\"Loud\"/></w:rPr><w:t> 5555 4444</w:t></w:r></w:p>"
        "</w:body></w:document>"},
       {"word/styles.xml",  // after the document, as in many files
        "<w:styles " + w + "><w:style w:type=\"character\" w:styleId=\"Base\"><w:rPr><w:vanish/></w:rPr></w:style>"
        "<w:style w:type=\"character\" w:styleId=\"Ghost\"><w:basedOn w:val=\"Base\"/></w:style>"
        "<w:style w:type=\"character\" w:styleId=\"Loud\"><w:basedOn w:val=\"Base\"/><w:rPr>"
        "<w:vanish w:val=\"false\"/></w:rPr></w:style>"
        "<w:style w:type=\"paragraph\" w:styleId=\"Quiet\"><w:rPr><w:vanish/></w:rPr></w:style></w:styles>"},
       {"customXml/item1.xml", "<data><iban>DE89370400440532013000</iban></data>"}});
  Result<std::string> text = ExtractText(Format::kOoxml, docx);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  // What a reader sees: the first lines.
  EXPECT_EQ(text->rfind("4111 1111 1111 1111 shown\n 5555 4444\n", 0), 0u) << *text;
  // Beside it, each joined: the deleted text and the text box.
  const std::vector<std::string> readings = Readings(*text);
  ASSERT_EQ(readings.size(), 4u) << *text;
  EXPECT_TRUE(Contains(readings[2], "y\n")) << readings[2];
  EXPECT_TRUE(Contains(readings[2], "Box\n")) << readings[2];
  EXPECT_FALSE(Contains(readings[0], "Box")) << readings[0];
  // Hidden, deleted and field text still travels in the file: it is read
  // too, each node on its own line, where nothing can be glued to it.
  EXPECT_NE(text->find("\nx\n4111 1111 1111 1111\ny\nPAGE\ng\nBox\n shown\n5555 5555\nq\n"), std::string::npos)
      << *text;
  // Data bound into the document from custom XML is read too.
  EXPECT_NE(text->find("DE89370400440532013000"), std::string::npos) << *text;
  // An embedded document or an inline HTML chunk would need its own reader.
  EXPECT_EQ(ExtractText(Format::kOoxml, MakeZip({{"word/document.xml", "<w:document/>"},
                                                 {"word/embeddings/oleObject1.bin", "x"}}))
                .status()
                .machine_code(),
            "document_unsupported");
  EXPECT_EQ(ExtractText(Format::kOoxml, MakeZip({{"word/document.xml", "<w:document/>"}, {"word/afchunk.mht", "x"}}))
                .status()
                .machine_code(),
            "document_unsupported");
}

TEST(DocumentTextTest, DamagedOversizedAndHollowOfficeFilesCannotBeScanned) {
  EXPECT_EQ(ExtractText(Format::kOoxml, "PK\x03\x04 not really a zip").status().machine_code(),
            "document_unreadable");
  // Well-formed zip, but no document, workbook or presentation inside.
  EXPECT_EQ(ExtractText(Format::kOoxml, MakeZip({{"payload.exe", "MZ"}})).status().machine_code(),
            "document_unreadable");
  EXPECT_EQ(ExtractText(Format::kOoxml, Docx("<w:p><w:t>unclosed</w:p>")).status().machine_code(),
            "document_unreadable");
  // A part that decompresses past the limit (a zip bomb, in small).
  Limits tight;
  tight.max_part_bytes = 4096;
  const std::string bomb = Docx("<w:p><w:t>" + std::string(100000, '0') + "</w:t></w:p>");
  EXPECT_LT(bomb.size(), 4096u);  // deflate: the archive is small, its content is not
  EXPECT_EQ(ExtractText(Format::kOoxml, bomb, tight).status().machine_code(), "document_too_large");
  // A document type declaration (entities that could read local files, or
  // expand without end) is refused: Office files have none.
  const std::string xxe = MakeZip(
      {{"word/document.xml", "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><w:p><w:t>a&e;b</w:t></w:p>"}});
  EXPECT_EQ(ExtractText(Format::kOoxml, xxe).status().machine_code(), "document_unsupported");
}

// covers: CHAN-04 (a PDF's text outside its pages is checked too)
// A payment form filled in on screen keeps the card number in the form
// field, not in the page's text; comments, bookmarks and properties travel
// with the file as well.
TEST(DocumentTextTest, APdfsCommentsFormFieldsBookmarksAndPropertiesAreRead) {
  const std::string content = "BT /F1 12 Tf 72 700 Td (Payment authorisation) Tj ET";
  const std::string xmp =
      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">"
      "<rdf:Description xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>Ref FR7630006000011234567890189"
      "</dc:title></rdf:Description></rdf:RDF></x:xmpmeta>";
  const std::string pdf = HandWrittenPdf(
      {"<</Type/Catalog /Pages 2 0 R /AcroForm <</Fields [6 0 R 13 0 R]>> /Outlines 8 0 R /Metadata 11 0 R>>",
       "<</Type/Pages /Kids [3 0 R] /Count 1>>",
       "<</Type/Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources <</Font <</F1 5 0 R>>>>"
       " /Annots [6 0 R 7 0 R]>>",
       Stream("", content),
       "<</Type/Font /Subtype/Type1 /BaseFont/Helvetica>>",
       // A filled-in text field (a widget annotation too), with a tooltip.
       "<</Type/Annot /Subtype/Widget /FT/Tx /T (card) /TU (Card number) /V (5555 5555 5555 4444)"
       " /Rect [72 600 300 620] /P 3 0 R>>",
       // A sticky note, its text in UTF-16 as Acrobat writes it.
       "<</Type/Annot /Subtype/Text /Rect [10 10 30 30] /Contents <FEFF0034003100310031> /T (Reviewer)>>",
       "<</Type/Outlines /First 9 0 R /Last 9 0 R /Count 1>>",
       // A bookmark whose /Next points back at itself: a loop must end.
       "<</Title (Patient 1234 diabetes) /Parent 8 0 R /Next 9 0 R /First 10 0 R>>",
       "<</Title (Child bookmark) /Parent 9 0 R>>",
       Stream("/Type/Metadata /Subtype/XML", xmp),
       "<</Subject (IBAN DE89370400440532013000) /Producer (hand)>>",
       // A list where several may be chosen: the values sit on the parent
       // field, above its widget, as an array.
       "<</FT/Ch /Ff 2097152 /T (list) /V [(Visa 4000 0566 5566 5556) (Other)] /Kids [14 0 R]>>",
       "<</Type/Annot /Subtype/Widget /Parent 13 0 R /Rect [72 500 300 520]>>"},
      /*info=*/12);
  Result<std::string> text = ExtractText(Format::kPdf, pdf);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(text->rfind("Payment authorisation", 0), 0u) << *text;  // the page first
  EXPECT_NE(text->find("\n5555 5555 5555 4444\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("\nCard number\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("\nVisa 4000 0566 5566 5556\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("\n4111\n"), std::string::npos) << *text;  // decoded from UTF-16
  EXPECT_NE(text->find("\nReviewer\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("\nPatient 1234 diabetes\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("\nChild bookmark\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("\nIBAN DE89370400440532013000\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("\nRef FR7630006000011234567890189\n"), std::string::npos) << *text;
  // A comment on a PDF made with libharu, as other tools write them.
  HPDF_Doc doc = HPDF_New(nullptr, nullptr);
  HPDF_Page page = HPDF_AddPage(doc);
  HPDF_Page_BeginText(page);
  HPDF_Page_SetFontAndSize(page, HPDF_GetFont(doc, "Helvetica", nullptr), 12);
  HPDF_Page_TextOut(page, 50, 750, "Order 118");
  HPDF_Page_EndText(page);
  HPDF_Rect rect = {50, 600, 80, 630};
  HPDF_Page_CreateTextAnnot(page, rect, "Card 4111 1111 1111 1111", nullptr);
  Result<std::string> commented = ExtractText(Format::kPdf, SavePdf(doc));
  ASSERT_TRUE(commented.ok()) << commented.status().ToString();
  EXPECT_NE(commented->find("\nCard 4111 1111 1111 1111\n"), std::string::npos) << *commented;
  // The text outside the pages counts against the same limit.
  Limits tight;
  tight.max_text_bytes = 40;
  EXPECT_EQ(ExtractText(Format::kPdf, pdf, tight).status().machine_code(), "document_too_large");
}

// covers: CHAN-04
// What a PDF viewer shows is what is read: rich text joined as its spans
// are, language marks dropped, a field's value read from its widget even
// when the catalog lists no form; files carried in comments and XFA forms
// would need readers of their own; a page tree that reads differently to
// qpdf and poppler would leave a page unscanned.
TEST(DocumentTextTest, APdfsHiddenCornersAreReadOrRefused) {
  const std::string content = "BT /F1 12 Tf 72 700 Td (Statement) Tj ET";
  auto with_annotation = [&](const std::string& annotation, const std::string& catalog_extra = "") {
    return HandWrittenPdf({"<</Type/Catalog /Pages 2 0 R" + catalog_extra + ">>",
                           "<</Type/Pages /Kids [3 0 R] /Count 1>>",
                           "<</Type/Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
                           " /Resources <</Font <</F1 5 0 R>>>> /Annots [6 0 R]>>",
                           Stream("", content), "<</Type/Font /Subtype/Type1 /BaseFont/Helvetica>>", annotation});
  };
  Result<std::string> rich = ExtractText(
      Format::kPdf,
      with_annotation("<</Type/Annot /Subtype/FreeText /Rect [0 0 9 9] /RC (<body xmlns=\"http://www.w3.org/1999/xhtml\">"
                      "<p>4111 <span style=\"font-weight:bold\">1111</span> 1111 1111</p></body>)"
                      // UTF-16 with a language mark (ESC en ESC) inside the number.
                      " /Contents <FEFF0034003100310031001B0065006E001B00200031003100310031>>>"));
  ASSERT_TRUE(rich.ok()) << rich.status().ToString();
  EXPECT_NE(rich->find("\n4111 1111 1111 1111\n"), std::string::npos) << *rich;
  EXPECT_NE(rich->find("\n4111 1111\n"), std::string::npos) << *rich;
  Result<std::string> widget = ExtractText(
      Format::kPdf, with_annotation("<</Type/Annot /Subtype/Widget /Rect [0 0 9 9] /MK <</CA (Pay)>> /Parent 7 0 R>>"));
  // The field object is missing (7 0 R): the widget's caption is still read.
  ASSERT_TRUE(widget.ok()) << widget.status().ToString();
  EXPECT_NE(widget->find("\nPay\n"), std::string::npos) << *widget;
  Result<std::string> orphan = ExtractText(
      Format::kPdf, HandWrittenPdf({"<</Type/Catalog /Pages 2 0 R>>", "<</Type/Pages /Kids [3 0 R] /Count 1>>",
                                    "<</Type/Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
                                    " /Resources <</Font <</F1 5 0 R>>>> /Annots [6 0 R]>>",
                                    Stream("", content), "<</Type/Font /Subtype/Type1 /BaseFont/Helvetica>>",
                                    "<</Type/Annot /Subtype/Widget /Rect [0 0 9 9] /Parent 7 0 R>>",
                                    "<</FT/Tx /T (card) /V (5555 5555 5555 4444)>>"}));
  ASSERT_TRUE(orphan.ok()) << orphan.status().ToString();
  EXPECT_NE(orphan->find("\n5555 5555 5555 4444\n"), std::string::npos) << *orphan;
  EXPECT_EQ(ExtractText(Format::kPdf, with_annotation("<</Type/Annot /Subtype/FileAttachment /Rect [0 0 9 9]"
                                                       " /FS <</Type/Filespec /F (card.txt)>>>>"))
                .status()
                .machine_code(),
            "document_unsupported");
  EXPECT_EQ(ExtractText(Format::kPdf, with_annotation("<</Type/Annot /Subtype/Text /Rect [0 0 9 9]>>",
                                                       " /AcroForm <</Fields [] /XFA 6 0 R>>"))
                .status()
                .machine_code(),
            "document_unsupported");
  // Two pages, a page count of one.
  Result<std::string> miscounted = ExtractText(
      Format::kPdf, HandWrittenPdf({"<</Type/Catalog /Pages 2 0 R>>", "<</Type/Pages /Kids [3 0 R 6 0 R] /Count 1>>",
                                    "<</Type/Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
                                    " /Resources <</Font <</F1 5 0 R>>>>>>",
                                    Stream("", content), "<</Type/Font /Subtype/Type1 /BaseFont/Helvetica>>",
                                    "<</Type/Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 7 0 R"
                                    " /Resources <</Font <</F1 5 0 R>>>>>>",
                                    Stream("", "BT /F1 12 Tf 72 700 Td (Card 4111 1111 1111 1111) Tj ET")}));
  if (miscounted.ok()) {
    EXPECT_NE(miscounted->find("4111 1111 1111 1111"), std::string::npos) << *miscounted;
  } else {
    EXPECT_EQ(miscounted.status().machine_code(), "document_unreadable");
  }
}

// covers: CHAN-04
TEST(DocumentTextTest, AnOpenDocumentsTextIsReadAsWordsIs) {
  // Spans joined, whitespace as shown (a line end inside a text node is a
  // space); a hiding style, hidden text and a field shown as none cannot
  // glue anything into the number a reader sees whole; a footnote, a
  // comment and a frame are read apart, each joined, not glued into the
  // sentence; a recorded deletion is read apart too (it is shown struck
  // through).
  const std::string odt = Odt(
      "<text:p>Card: 4111 <text:span text:style-name=\"T1\">1111</text:span><text:s/>"
      "<text:span text:style-name=\"Gone\">x</text:span>1111<text:hidden-text text:is-hidden=\"true\">y"
      "</text:hidden-text><text:variable-get text:display=\"none\">v</text:variable-get> 1111"
      "<text:note><text:note-citation>1</text:note-citation><text:note-body>"
      "<text:p>IBAN DE89 3704 <text:span text:style-name=\"T1\">0044</text:span> 0532 0130 00</text:p>"
      "</text:note-body></text:note><office:annotation><dc:creator>Ann</dc:creator><text:p>Check</text:p>"
      "</office:annotation><draw:frame><svg:title>Logo</svg:title></draw:frame></text:p>"
      "<text:p>Visa\n4000 0566\t5566 5556 <text:span>and</text:span> <text:span>more</text:span></text:p>"
      "<text:tracked-changes><text:changed-region><text:deletion><text:p>Old 5555 5555 "
      "<text:span text:style-name=\"T1\">5555</text:span> 4444</text:p></text:deletion>"
      "</text:changed-region></text:tracked-changes><text:h>Tom &amp; Jerry</text:h>",
      "<style:style style:name=\"T1\" style:family=\"text\"><style:text-properties/></style:style>"
      "<style:style style:name=\"Gone\" style:family=\"text\"><style:text-properties text:display=\"none\"/>"
      "</style:style>");
  Result<std::string> text = ExtractText(Format::kOpenDocument, odt);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(text->rfind("Card: 4111 1111 1111 1111\nVisa 4000 0566 5566 5556 and more\nTom & Jerry\n", 0), 0u)
      << *text;
  const std::vector<std::string> readings = Readings(*text);
  ASSERT_EQ(readings.size(), 3u) << *text;
  for (const char* aside : {"IBAN DE89 3704 0044 0532 0130 00\n", "Ann\nCheck\n", "Logo\n",
                            "Old 5555 5555 5555 4444\n"}) {
    EXPECT_TRUE(Contains(readings[1], aside)) << aside << " in " << readings[1];
  }
  // Every text node and text attribute apart, hidden or not.
  for (const char* node : {"\nx\n", "\ny\n", "\nv\n", "\n1\n"}) {
    EXPECT_NE(text->find(node), std::string::npos) << node << " in " << *text;
  }
  // Spaces and tabs written as non-empty elements are spaces too; a text
  // style named like a paragraph's style does not hide the paragraph.
  Result<std::string> spaced = ExtractText(
      Format::kOpenDocument,
      Odt("<text:p text:style-name=\"P1\">Ref<text:tab></text:tab>4111<text:s></text:s>1111 1111 1111</text:p>",
          "<style:style style:name=\"P1\" style:family=\"text\"><style:text-properties text:display=\"none\"/>"
          "</style:style>"));
  ASSERT_TRUE(spaced.ok()) << spaced.status().ToString();
  EXPECT_EQ(spaced->rfind("Ref 4111 1111 1111 1111\n", 0), 0u) << *spaced;
  // Hidden text shown (is-hidden false) is part of the number a reader sees.
  Result<std::string> shown = ExtractText(
      Format::kOpenDocument,
      Odt("<text:p>4111 1111 <text:hidden-text text:is-hidden=\"false\">1111</text:hidden-text> 1111</text:p>"));
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ(shown->rfind("4111 1111 1111 1111\n", 0), 0u) << *shown;
  // Encrypted: the manifest says so.
  EXPECT_EQ(ExtractText(Format::kOpenDocument,
                        MakeZip({{"content.xml", "\x01\x02"},
                                 {"META-INF/manifest.xml", "<manifest><manifest:encryption-data/></manifest>"}}))
                .status()
                .machine_code(),
            "document_encrypted");
  // An object embedded in its binary form, no content, a DTD: not scannable.
  EXPECT_EQ(ExtractText(Format::kOpenDocument, Odt("<text:p>a</text:p>", "", {{"Object 1", "\xD0\xCF\x11\xE0"}}))
                .status()
                .machine_code(),
            "document_unsupported");
  EXPECT_EQ(ExtractText(Format::kOpenDocument, MakeZip({{"styles.xml", "<x/>"}})).status().machine_code(),
            "document_unreadable");
  EXPECT_EQ(ExtractText(Format::kOpenDocument, MakeZip({{"content.xml", "<!DOCTYPE x [<!ENTITY e \"e\">]><x/>"}}))
                .status()
                .machine_code(),
            "document_unsupported");
}

// covers: CHAN-04
// Markup a reader never sees cannot split a number or glue a letter to it:
// indentation between runs, a deletion recorded in the middle of a number,
// alternative content, text boxes and ruby inside runs, former formatting,
// symbols and non-breaking hyphens, Excel's header codes.
TEST(DocumentTextTest, OfficeMarkupDoesNotSplitOrGlueANumber) {
  const std::string w = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";
  const std::string docx = MakeZip(
      {{"word/document.xml",
        "<w:document " + w + " xmlns:mc=\"http://schemas.openxmlformats.org/markup-compatibility/2006\"><w:body>\n"
        // Pretty-printed: the indentation between runs is not text.
        "<w:p>\n  <w:r>\n    <w:t xml:space=\"preserve\">A 4111 1111 </w:t>\n  </w:r>\n"
        "  <w:r>\n    <w:t>1111 1111</w:t>\n  </w:r>\n</w:p>\n"
        // Half of the number inside a recorded deletion.
        "<w:p><w:r><w:t xml:space=\"preserve\">B 5555 5555 </w:t></w:r><w:del w:id=\"1\" w:author=\"a\"><w:r>"
        "<w:delText>5555 4444</w:delText></w:r></w:del></w:p>"
        // Alternative content: the choice is shown, the fallback is not.
        "<w:p><w:r><w:t xml:space=\"preserve\">C 4000 0566 5566 </w:t><mc:AlternateContent><mc:Choice Requires=\"w14\">"
        "<w:t>5556</w:t></mc:Choice><mc:Fallback><w:t>Z</w:t></mc:Fallback></mc:AlternateContent></w:r></w:p>"
        // A hidden run holding a text box: the rest of the run stays hidden.
        "<w:p><w:r><w:t xml:space=\"preserve\">D 4111 1111 1111 </w:t></w:r><w:r><w:rPr><w:vanish/></w:rPr><w:pict>"
        "<w:txbxContent><w:p><w:r><w:t>Box</w:t></w:r></w:p></w:txbxContent></w:pict><w:t>x</w:t></w:r>"
        "<w:r><w:t>1111</w:t></w:r></w:p>"
        // Ruby text is beside its base, not inside the number.
        "<w:p><w:r><w:t xml:space=\"preserve\">E 4111 1111 1111 </w:t></w:r><w:r><w:ruby><w:rt><w:r><w:t>a</w:t></w:r>"
        "</w:rt><w:rubyBase><w:r><w:t>1111</w:t></w:r></w:rubyBase></w:ruby></w:r></w:p>"
        // Former formatting hid the run; today it is shown.
        "<w:p><w:r><w:t xml:space=\"preserve\">F 4111 1111 </w:t></w:r><w:r><w:rPr><w:rPrChange w:id=\"2\"><w:rPr>"
        "<w:rStyle w:val=\"Ghost\"/><w:vanish/></w:rPr></w:rPrChange></w:rPr><w:t>1111</w:t></w:r>"
        "<w:r><w:t xml:space=\"preserve\"> 1111</w:t></w:r></w:p>"
        // A digit drawn as a symbol, a non-breaking hyphen.
        "<w:p><w:r><w:t>G 4111 1111 1111 111</w:t><w:sym w:font=\"Symbol\" w:char=\"F031\"/></w:r></w:p>"
        "<w:p><w:r><w:t>H 4111-1111</w:t><w:noBreakHyphen/><w:t>1111-1111</w:t></w:r></w:p>"
        "</w:body></w:document>"},
       {"word/styles.xml", "<w:styles " + w + "><w:style w:type=\"character\" w:styleId=\"Ghost\"><w:rPr>"
                           "<w:vanish/></w:rPr></w:style></w:styles>"}});
  Result<std::string> text = ExtractText(Format::kOoxml, docx);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const std::vector<std::string> readings = Readings(*text);
  ASSERT_EQ(readings.size(), 4u) << *text;
  const std::string& visible = readings[0];
  EXPECT_EQ(visible.rfind("A 4111 1111 1111 1111\n", 0), 0u) << visible;
  EXPECT_TRUE(Contains(readings[1], "\nB 5555 5555 5555 4444\n")) << readings[1];  // as recorded
  EXPECT_TRUE(Contains(visible, "\nC 4000 0566 5566 5556\n")) << visible;
  EXPECT_TRUE(Contains(visible, "\nD 4111 1111 1111 1111\n")) << visible;
  EXPECT_TRUE(Contains(visible, "\nE 4111 1111 1111 1111\n")) << visible;
  EXPECT_TRUE(Contains(visible, "\nF 4111 1111 1111 1111\n")) << visible;
  EXPECT_TRUE(Contains(visible, "\nG 4111 1111 1111 1111\n")) << visible;
  EXPECT_TRUE(Contains(visible, "\nH 4111-1111-1111-1111\n")) << visible;
  EXPECT_TRUE(Contains(readings[2], "Z\n")) << readings[2];
  EXPECT_TRUE(Contains(readings[2], "a\n")) << readings[2];
  // Excel: a number typed in a header's centre section is not glued to
  // its section code; comments' authors end their line.
  const std::string xlsx = MakeZip(
      {{"xl/worksheets/sheet1.xml",
        "<worksheet><headerFooter><oddHeader>&amp;L&amp;\"Arial,Bold\"Ref&amp;C4111 1111 1111 1111&amp;R&amp;P"
        "</oddHeader></headerFooter></worksheet>"},
       {"xl/comments1.xml", "<comments><authors><author>John</author></authors><commentList><comment><text><r>"
                            "<t xml:space=\"preserve\">5555 5555 </t></r><r><t>5555 4444</t></r></text></comment>"
                            "</commentList></comments>"}});
  Result<std::string> sheet = ExtractText(Format::kOoxml, xlsx);
  ASSERT_TRUE(sheet.ok()) << sheet.status().ToString();
  EXPECT_TRUE(Contains(Readings(*sheet)[0], "\n4111 1111 1111 1111\n")) << *sheet;
  EXPECT_TRUE(Contains(Readings(*sheet)[0], "John\n5555 5555 5555 4444\n")) << *sheet;
}

// covers: CHAN-04
// Which text a style hides follows ODF's rules: text styles only, inherited
// from their parents unless overridden, scoped to their part (automatic
// styles) or their directory (common styles). A wrong "hidden" would drop
// digits a reader sees, a wrong "shown" would let a hidden letter glue.
TEST(DocumentTextTest, OpenDocumentStylesHideTextAsAReaderWouldSee) {
  const std::string ns =
      " xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\""
      " xmlns:style=\"urn:oasis:names:tc:opendocument:xmlns:style:1.0\""
      " xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\"";
  const std::string common =
      "<office:document-styles" + ns + "><office:styles>"
      "<style:style style:name=\"Hidden\" style:family=\"text\"><style:text-properties text:display=\"none\"/>"
      "</style:style><style:style style:name=\"P\" style:family=\"paragraph\">"
      "<style:text-properties text:display=\"none\"/></style:style></office:styles></office:document-styles>";
  // A child of a hidden common style hides; its own child showing again does not.
  const std::string odt = Odt(
      "<text:p>4111 1111<text:span text:style-name=\"Child\">q</text:span> 1111 "
      "<text:span text:style-name=\"Shown\">1111</text:span><text:span text:style-name=\"P\"> 9</text:span></text:p>",
      "<style:style style:name=\"Child\" style:family=\"text\" style:parent-style-name=\"Hidden\"/>"
      "<style:style style:name=\"Shown\" style:family=\"text\" style:parent-style-name=\"Hidden\">"
      "<style:text-properties text:display=\"true\"/></style:style>",
      {{"styles.xml", common},
       // An embedded object's own common styles: a style of the same name
       // there does not reach the main document.
       {"Object 1/styles.xml",
        "<office:document-styles" + ns + "><office:styles><style:style style:name=\"T9\" style:family=\"text\">"
        "<style:text-properties text:display=\"none\"/></style:style></office:styles></office:document-styles>"},
       {"Object 1/content.xml", "<office:document-content" + ns + "/>"}});
  Result<std::string> text = ExtractText(Format::kOpenDocument, odt);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  // "P" is a paragraph style: it does not hide a span's text.
  EXPECT_EQ(text->rfind("4111 1111 1111 1111 9\n", 0), 0u) << *text;
  Result<std::string> scoped = ExtractText(
      Format::kOpenDocument,
      Odt("<text:p>4111 1111 <text:span text:style-name=\"T9\">1111</text:span> 1111</text:p>", "",
          {{"Object 1/styles.xml",
            "<office:document-styles" + ns + "><office:styles><style:style style:name=\"T9\" style:family=\"text\">"
            "<style:text-properties text:display=\"none\"/></style:style></office:styles></office:document-styles>"}}));
  ASSERT_TRUE(scoped.ok()) << scoped.status().ToString();
  EXPECT_EQ(scoped->rfind("4111 1111 1111 1111\n", 0), 0u) << *scoped;
  // A spreadsheet cell shows what its format makes of the value (4.11E+15);
  // the value itself is read too.
  const std::string ods = MakeZip(
      {{"content.xml",
        "<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\""
        " xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\""
        " xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\"><office:body><office:spreadsheet>"
        "<table:table table:name=\"Cards\"><table:table-row><table:table-cell office:value-type=\"float\""
        " office:value=\"4111111111111111\"><text:p>4.11E+15</text:p></table:table-cell></table:table-row>"
        "</table:table></office:spreadsheet></office:body></office:document-content>"}});
  Result<std::string> cells = ExtractText(Format::kOpenDocument, ods);
  ASSERT_TRUE(cells.ok()) << cells.status().ToString();
  EXPECT_NE(cells->find("\n4111111111111111\n"), std::string::npos) << *cells;
}

// Files attached to a PDF would need a reader of their own.
TEST(DocumentTextTest, APdfWithAttachedFilesCannotBeScanned) {
  const std::string attachment = ::testing::TempDir() + "/docscan_attachment.txt";
  FILE* f = std::fopen(attachment.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("Card 4111 1111 1111 1111\n", f);
  std::fclose(f);
  const std::string bytes = MakePdf({"See the attachment"}, attachment);
  EXPECT_EQ(ExtractText(Format::kPdf, bytes).status().machine_code(), "document_unsupported");
}

// covers: CHAN-04 (a card number in a photo or a scanned page is found too)
// Pictures hold text too: a screenshot of a statement, a scanned form.
// Their text is recognised (Tesseract) and scanned like any other.
TEST(DocumentTextTest, TheTextOfPicturesAndScannedPagesIsRecognised) {
  const std::string png = PagePicture({"Payment card 4111 1111 1111 1111", "Diagnosis: diabetes"});
  Result<std::string> picture = ExtractText(Format::kImage, png);
  ASSERT_TRUE(picture.ok()) << picture.status().ToString();
  // Recognition may lose the space between two digit groups: the text is
  // read twice, the second time with digit groups run together.
  EXPECT_TRUE(Contains(*picture, "4111111111111111")) << *picture;
  EXPECT_TRUE(Contains(*picture, "diabetes")) << *picture;
  Result<std::string> scanned = ExtractText(Format::kPdf, ScannedPdf(png));
  ASSERT_TRUE(scanned.ok()) << scanned.status().ToString();
  EXPECT_TRUE(Contains(*scanned, "4111111111111111")) << *scanned;
  // A barcode's text is not joined into a card number: its lone leading
  // digit stays apart ("5 039595 237572" would pass the check digit).
  Result<std::string> barcode = ExtractText(Format::kImage, PagePicture({"EAN 5 039595 237572"}));
  ASSERT_TRUE(barcode.ok()) << barcode.status().ToString();
  EXPECT_FALSE(Contains(*barcode, "5039595237572")) << *barcode;
  // A picture with a side longer than recognition takes (a scrolling
  // screenshot), whatever its pixel count: only its header is read.
  {
    const std::string pdf = MakePdf({"tall"});
    std::unique_ptr<poppler::document> doc(
        poppler::document::load_from_raw_data(pdf.data(), static_cast<int>(pdf.size())));
    std::unique_ptr<poppler::page> page(doc->create_page(0));
    poppler::page_renderer renderer;
    renderer.set_image_format(poppler::image::format_gray8);
    poppler::image strip = renderer.render_page(page.get(), 3500, 3500, 0, 0, 1, 40000);  // 1 x 40000
    ASSERT_EQ(strip.height(), 40000);
    const std::string path = ::testing::TempDir() + "/docscan_tall.png";
    strip.save(path, "png");
    std::ifstream in(path, std::ios::binary);
    const std::string tall((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(ExtractText(Format::kImage, tall).status().machine_code(), "document_too_large");
  }
  // Not a picture; a picture larger than the limit (its header says so).
  EXPECT_EQ(ExtractText(Format::kImage, "\x89PNG\r\n\x1a\n garbage").status().machine_code(), "document_unreadable");
  Limits tight;
  tight.max_image_pixels = 1000;
  EXPECT_EQ(ExtractText(Format::kImage, png, tight).status().machine_code(), "document_too_large");
  tight = Limits{};
  tight.max_ocr_pages = 0;
  EXPECT_EQ(ExtractText(Format::kPdf, ScannedPdf(png), tight).status().machine_code(), "document_too_large");
}

// A PDF of scanned pages holds pictures, not text: nothing could be checked.
TEST(DocumentTextTest, APdfWithoutTextAndTextThatIsNotUtf8CannotBeScanned) {
  EXPECT_EQ(ExtractText(Format::kPdf, MakePdf({})).status().machine_code(), "document_no_text");
  EXPECT_EQ(ExtractText(Format::kPlainText, "caf\xE9").status().machine_code(), "document_unreadable");
  EXPECT_EQ(ExtractText(Format::kPlainText, "caf\xC3\xA9").value(), "caf\xC3\xA9");
}

// covers: CHAN-04
// Every reader works inside the sandbox (Landlock, the system call
// allowlist, the limits) on the files it exists for: were the allowlist
// short of a call a reader needs, its documents would all become
// unscannable. Run through this build's own binary, as the gateway does.
TEST(IsolatedExtractionTest, EveryFormatIsReadInsideTheSandbox) {
  IsolationOptions o;
  o.executable = CONSENTRY_BINARY;
  const std::string card = "Card 4111 1111 1111 1111";
  // A PDF whose owner restricts printing: encrypted with an empty user
  // password, opened without one (qpdf decrypts it through gnutls).
  HPDF_Doc locked = HPDF_New(nullptr, nullptr);
  HPDF_Page page = HPDF_AddPage(locked);
  HPDF_Page_BeginText(page);
  HPDF_Page_SetFontAndSize(page, HPDF_GetFont(locked, "Helvetica", nullptr), 12);
  HPDF_Page_TextOut(page, 50, 750, card.c_str());
  HPDF_Page_EndText(page);
  HPDF_Rect rect = {50, 600, 80, 630};
  HPDF_Page_CreateTextAnnot(page, rect, "IBAN DE89 3704 0044 0532 0130 00", nullptr);
  HPDF_SetPassword(locked, "owner-secret", "");
  HPDF_SetEncryptionMode(locked, HPDF_ENCRYPT_R3, 16);
  HPDF_SetPermission(locked, HPDF_ENABLE_READ);
  // Type, bytes, and whether its text is recognised (which may lose the
  // space between two digit groups: its second reading runs them together).
  struct Document {
    std::string type, bytes;
    bool recognised;
  };
  const std::vector<Document> documents = {
      {"application/pdf", MakePdf({"Invoice", card}), false},
      {"application/pdf", SavePdf(locked), false},
      {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
       Docx("<w:p><w:r><w:t>" + card + "</w:t></w:r></w:p>"), false},
      {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
       MakeZip({{"xl/sharedStrings.xml", "<?xml version=\"1.0\" encoding=\"windows-1252\"?><sst><si><t>" + card +
                                             " \xE9</t></si></sst>"}}),
       false},
      {"application/vnd.oasis.opendocument.text", Odt("<text:p>" + card + "</text:p>"), false},
      {"text/plain", card + "\n", false},
      {"image/png", PagePicture({card}), true},
      {"application/pdf", ScannedPdf(PagePicture({card})), true},
  };
  for (const Document& d : documents) {
    Result<std::string> text = ExtractTextIsolated(d.type, d.bytes, o);
    ASSERT_TRUE(text.ok()) << d.type << ": " << text.status().ToString();
    EXPECT_TRUE(Contains(*text, d.recognised ? "Card 4111111111111111" : card)) << d.type << ": " << *text;
  }
  Result<std::string> locked_text = ExtractTextIsolated("application/pdf", documents[1].bytes, o);
  ASSERT_TRUE(locked_text.ok());
  EXPECT_NE(locked_text->find("IBAN DE89 3704 0044 0532 0130 00"), std::string::npos) << *locked_text;
}

TEST(DocumentTextTest, IsolatedExtractionRefusesWhatItCannotScanBeforeStartingAnything) {
  IsolationOptions o;
  o.executable = "/nonexistent/consentry";
  EXPECT_EQ(ExtractTextIsolated("application/msword", "x", o).status().machine_code(), "document_unsupported");
  EXPECT_EQ(ExtractTextIsolated("application/pdf", "%PDF-", o).status().machine_code(), "extractor_unavailable");
}

}  // namespace
}  // namespace cs::docscan
