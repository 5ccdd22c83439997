// covers: CHAN-04, SEN-05, B-38 (quality targets of issue 7, on the generated labelled set)
#include <gtest/gtest.h>

#include "scan/eval_corpus.h"

namespace cs::scan {
namespace {

TEST(ScannerQualityTest, MeetsPrecisionAndRecallTargets) {
  auto scanner = Scanner::Create();
  ASSERT_TRUE(scanner.ok());
  const std::vector<LabelledMessage> set = GenerateEvaluationSet(20261122, 2000, 5000, 2000);
  const EvaluationReport r = Evaluate(**scanner, set);
  for (const std::string& e : r.examples) std::printf("  %s\n", e.c_str());
  for (int k = 0; k < kFindingTypeCount; ++k) {
    const TypeScore& s = r.per_type[k];
    std::printf("%-12s precision %.4f recall %.4f (tp %zu fp %zu fn %zu)\n",
                std::string(TypeName(static_cast<FindingType>(k))).c_str(), s.Precision(), s.Recall(),
                s.true_positives, s.false_positives, s.false_negatives);
  }
  std::printf("decoys flagged %zu / %zu, plain chat flagged %zu / %zu\n", r.decoys_flagged, r.decoys,
              r.plain_flagged, r.plain);
  const auto score = [&](FindingType t) { return r.per_type[static_cast<int>(t)]; };
  for (FindingType t : {FindingType::kCard, FindingType::kIban, FindingType::kEmail}) {
    EXPECT_GE(score(t).Precision(), 0.99) << TypeName(t);
    EXPECT_GE(score(t).Recall(), 0.99) << TypeName(t);
  }
  EXPECT_GE(score(FindingType::kPhone).Precision(), 0.95);
  EXPECT_GE(score(FindingType::kPhone).Recall(), 0.95);
  EXPECT_GE(score(FindingType::kNationalId).Recall(), 0.95);
  EXPECT_GE(score(FindingType::kDob).Recall(), 0.95);
  EXPECT_LE(static_cast<double>(r.decoys_flagged), 0.01 * static_cast<double>(r.decoys));
  EXPECT_EQ(r.plain_flagged, 0u);
}

}  // namespace
}  // namespace cs::scan
