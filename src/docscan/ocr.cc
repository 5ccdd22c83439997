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

std::string Recognized(tesseract::TessBaseAPI& api) {
  std::unique_ptr<char[]> text(api.GetUTF8Text());
  api.Clear();
  return text != nullptr ? std::string(text.get()) : std::string();
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
  api->SetImage(pixels, width, height, 4, stride);
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
  if (static_cast<int64_t>(width) * height > max_pixels) {
    return FailedPrecondition("document_too_large", "the picture has more than " + std::to_string(max_pixels) +
                                                        " pixels");
  }
  std::unique_ptr<PIX, PixFree> pix(pixReadMem(data, bytes.size()));
  if (pix == nullptr) return FailedPrecondition("document_unreadable", "the picture cannot be decoded");
  api->SetImage(pix.get());
  // Photos and screenshots rarely say their resolution; 300 is what the
  // engine is tuned for.
  if (pixGetXRes(pix.get()) < 70) api->SetSourceResolution(300);
  return Recognized(*api);
}

}  // namespace cs::docscan
