// The printable proof: rendered from a real ledger, then read back with
// poppler's pdftotext, as a person opening it would see it.
#include "consent/proof_pdf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/sha256.h"
#include "common/strings.h"

namespace cs {
namespace {

std::string PdfText(const std::string& pdf) {
  const std::string dir = ::testing::TempDir() + "/consentry_pdf_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/proof.pdf";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << pdf;
  }
  std::string text;
  FILE* p = popen(("pdftotext -enc UTF-8 -layout " + path + " - 2>&1").c_str(), "r");
  if (p == nullptr) return "";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << text;
  return text;
}

// Drops the line breaks a layout introduces, so wrapped text can be found.
std::string Flat(std::string text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == ' ' || c == '\f') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// covers: CONS-06
TEST(ConsentProofPdfTest, ThePrintedProofShowsEveryChangeItsEvidenceAndTheNoticeText) {
  ConsentProof proof;
  proof.tenant_id = "ten_a";
  proof.tenant_name = "Bäckerei Müller";
  proof.subject = "sub_4f1c2a9e0b7d";
  proof.generated_at_ms = 1795000000000;
  proof.consents.push_back(ConsentRecord{"ten_a", proof.subject, "marketing", "active", 3, 1794000000000, 0, "chn_1",
                                         "msg_1", "2026-11", std::string(64, 'a'), false});
  const std::string evidence = R"({"source_channel":"web_form","source_ref":"newsletter-box","notice_version":"2026-11"})";
  proof.events.push_back(ConsentEvent{1, "ten_a", proof.subject, "marketing", "none", "pending", 1793000000000,
                                      "integration:key_1", "registered", evidence});
  proof.events.push_back(ConsentEvent{2, "ten_a", proof.subject, "marketing", "pending", "active", 1794000000000,
                                      "subject:" + proof.subject, "reply_affirmative", R"({"reply_wamid_hash":"wam_00000000000000000000000000000000"})"});
  Notice notice;
  notice.version = "2026-11";
  notice.language = "de";
  notice.sha256 = std::string(64, 'a');
  // Long enough to wrap over several lines, and not ASCII.
  for (int i = 0; i < 40; ++i) notice.text += "Wir verarbeiten Ihre Nummer für Bestellinformationen. ";
  notice.text += "Ende des Hinweises.";
  proof.notices.push_back(notice);
  proof.sale_sharing = SaleSharingChoice{"ten_a", proof.subject, true, true, "gpc_signal", 1794500000000, 0};

  auto pdf = RenderConsentProofPdf(proof);
  ASSERT_TRUE(pdf.ok()) << pdf.status().ToString();
  ASSERT_EQ(pdf->rfind("%PDF-", 0), 0u);
  const std::string text = Flat(PdfText(*pdf));
  for (const std::string& expected :
       {std::string("Bäckerei Müller"), proof.subject, std::string("marketing: none -> pending (registered)"),
        std::string("marketing: pending -> active (reply_affirmative)"), std::string("newsletter-box"),
        std::string("evidence SHA-256: ") + HexEncode(Sha256({evidence})), std::string("Opted out since"),
        std::string("Global Privacy Control"), std::string("Wir verarbeiten Ihre Nummer für Bestellinformationen."),
        std::string("Ende des Hinweises.")}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n--- in ---\n" << text;
  }
}

}  // namespace
}  // namespace cs
