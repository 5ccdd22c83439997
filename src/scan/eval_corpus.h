// File: eval_corpus.h
// A generated, labelled evaluation set for the scanner: chat messages in
// English, French, German, Italian and Spanish with the exact byte span
// and type of every sensitive value, plus decoys (order and tracking
// numbers, prices, dates, Luhn-failing numbers, bad IBANs, handles) that
// must not be flagged, and plain chat without any. Deterministic for a
// seed, so figures can be compared between versions (docs/scan.md).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scan/scan.h"

namespace cs::scan {

struct LabelledSpan {
  FindingType type;
  size_t start;
  size_t end;
};

struct LabelledMessage {
  enum class Kind { kPositive, kDecoy, kPlain };
  Kind kind = Kind::kPlain;
  std::string text;
  std::vector<LabelledSpan> spans;  // empty for decoys and plain chat
  std::string decoy;                // what the decoy imitates ("order_number")
};

// `positives_per_type` messages for each type, `decoys` look-alikes and
// `plain` ordinary chat messages, shuffled.
std::vector<LabelledMessage> GenerateEvaluationSet(uint64_t seed, size_t positives_per_type, size_t decoys,
                                                   size_t plain);

struct TypeScore {
  size_t true_positives = 0;
  size_t false_positives = 0;
  size_t false_negatives = 0;
  double Precision() const;
  double Recall() const;
};

struct EvaluationReport {
  TypeScore per_type[kFindingTypeCount];
  size_t decoys = 0;
  size_t decoys_flagged = 0;  // decoy messages with at least one finding
  size_t plain = 0;
  size_t plain_flagged = 0;
  // The first few misses and false alarms, for whoever tunes the detectors
  // (generated text only: no real data).
  std::vector<std::string> examples;
};

// A finding counts only with the exact labelled type and span.
EvaluationReport Evaluate(const Scanner& scanner, const std::vector<LabelledMessage>& set);

}  // namespace cs::scan
