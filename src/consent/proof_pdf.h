// File: proof_pdf.h
// The printable consent proof of one subject (CONS-06): the same content as
// ConsentProofJson, laid out as an A4 PDF for a supervisory authority or a
// court, with the SHA-256 of each event's evidence (the value sealed in the
// audit ledger) and of the JSON proof, so the paper can be matched to the
// machine-readable record.
//
// Rendering uses libharu with an embedded TrueType font (DejaVu Sans), so
// any language of the notices prints as written; without the font file it
// falls back to Helvetica and prints non-ASCII characters as '?'.
//
// Thread-safety: reentrant.
#pragma once

#include <string>

#include "common/status.h"
#include "consent/consent.h"

namespace cs {

// Returns the PDF bytes. `json_sha256` is the hex SHA-256 of the JSON proof
// served for the same request.
Result<std::string> RenderConsentProofPdf(const ConsentProof& proof, const std::string& json_sha256);

}  // namespace cs
