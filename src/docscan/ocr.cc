// Tesseract (LSTM engine, Debian's English model) and Leptonica to decode
// pictures. The engine is made once per process: loading its model reads a
// file, which the sandboxed child may do only before it forbids files.
#include "docscan/ocr.h"

#include <leptonica/allheaders.h>
#include <tesseract/baseapi.h>

#include <memory>
#include <vector>

namespace cs::docscan {

namespace {

Status NoEngine() {
  return FailedPrecondition("document_unscannable", "text recognition is not available (tesseract-ocr-eng)");
}

// The engine, or null when its model is not installed.
tesseract::TessBaseAPI* Engine() {
  static const std::unique_ptr<tesseract::TessBaseAPI> engine = [] {
    // Leptonica reports decoding trouble on stderr; callers report it instead.
    setMsgSeverity(L_SEVERITY_NONE);
    auto api = std::make_unique<tesseract::TessBaseAPI>();
    if (api->Init(nullptr, "eng", tesseract::OEM_LSTM_ONLY) != 0) return std::unique_ptr<tesseract::TessBaseAPI>();
    // Whole pages or photos: let Tesseract find the blocks of text.
    api->SetPageSegMode(tesseract::PSM_AUTO);
    return api;
  }();
  return engine.get();
}

// Tesseract refuses pictures with a side longer than this.
constexpr int kMaxSide = 32767;
// Below this mean word confidence (0-100) the text is mostly guesses: a
// photo of something else, handwriting, a page upside down.
constexpr int kMinConfidence = 40;

// The text of the picture set in `api`. A failed recognition is an error,
// never "no text"; so is text too uncertain to stand for what the picture
// shows ("document_no_text").
Result<std::string> Recognized(tesseract::TessBaseAPI& api) {
  struct Clear {
    tesseract::TessBaseAPI& api;
    ~Clear() { api.Clear(); }
  } clear{api};
  if (api.Recognize(nullptr) < 0) {
    return FailedPrecondition("document_unscannable", "text recognition failed on the picture");
  }
  std::unique_ptr<char[]> text(api.GetUTF8Text());
  if (text == nullptr) return FailedPrecondition("document_unscannable", "text recognition failed on the picture");
  std::string out(text.get());
  if (out.find_first_not_of(" \t\r\n\f\v") != std::string::npos && api.MeanTextConf() < kMinConfidence) {
    return FailedPrecondition("document_no_text", "the text recognised in the picture is too uncertain to be read");
  }
  return out;
}

struct PixFree {
  void operator()(PIX* pix) const { pixDestroy(&pix); }
};

}  // namespace

bool WarmUpOcr() {
  tesseract::TessBaseAPI* api = Engine();
  if (api == nullptr) return false;
  // One recognition, so that whatever the engine loads on first use is loaded.
  std::vector<unsigned char> white(64 * 64 * 4, 0xFF);
  RecognizePixels(white.data(), 64, 64, 64 * 4, 300).status().IgnoreError();
  return true;
}

Result<std::string> RecognizePixels(const unsigned char* pixels, int width, int height, int stride, int dpi) {
  tesseract::TessBaseAPI* api = Engine();
  if (api == nullptr) return NoEngine();
  if (width > kMaxSide || height > kMaxSide) {
    return FailedPrecondition("document_too_large", "a side of the picture is longer than text recognition takes");
  }
  api->SetImage(pixels, width, height, 1, stride);
  api->SetSourceResolution(dpi);
  return Recognized(*api);
}

Result<std::string> RecognizeEncodedImage(std::string_view bytes, int64_t max_pixels) {
  tesseract::TessBaseAPI* api = Engine();
  if (api == nullptr) return NoEngine();
  const auto* data = reinterpret_cast<const l_uint8*>(bytes.data());
  l_int32 format = 0, width = 0, height = 0, bps = 0, spp = 0, colormap = 0;
  // The size first, from the header: a small file may claim a huge picture.
  if (pixReadHeaderMem(data, bytes.size(), &format, &width, &height, &bps, &spp, &colormap) != 0 || width <= 0 ||
      height <= 0) {
    return FailedPrecondition("document_unreadable", "the picture cannot be decoded");
  }
  if (static_cast<int64_t>(width) * height > max_pixels || width > kMaxSide || height > kMaxSide) {
    return FailedPrecondition("document_too_large", "the picture has more than " + std::to_string(max_pixels) +
                                                        " pixels, or a side too long to recognise");
  }
  std::unique_ptr<PIX, PixFree> pix(pixReadMem(data, bytes.size()));
  if (pix == nullptr) return FailedPrecondition("document_unreadable", "the picture cannot be decoded");
  // Transparent pixels over white, as a viewer shows them (a sticker's
  // text on a transparent background would otherwise be black on black).
  if (pixGetSpp(pix.get()) == 4) pix.reset(pixRemoveAlpha(pix.get()));
  if (pix == nullptr) return FailedPrecondition("document_unreadable", "the picture cannot be decoded");
  const bool resolution_known = pixGetYRes(pix.get()) >= 70;
  api->SetImage(pix.get());  // Tesseract keeps a copy of its own
  pix.reset();
  // Photos and screenshots rarely say their resolution; 300 is what the
  // engine is tuned for.
  if (!resolution_known) api->SetSourceResolution(300);
  return Recognized(*api);
}

}  // namespace cs::docscan
