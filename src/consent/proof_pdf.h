// File: proof_pdf.h
// The printable consent proof of one subject (CONS-06): the same content as
// ConsentProofJson, laid out as an A4 PDF for a supervisory authority or a
// court, with the SHA-256 of each event's evidence: the value sealed in the
// tamper-evident audit ledger, so the paper can be checked against it.
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

// Returns the PDF bytes (the font embedded: about 0.8 MB).
Result<std::string> RenderConsentProofPdf(const ConsentProof& proof);

}  // namespace cs
