#pragma once
// The portal's web files, embedded in the binary at build time (embed_assets.cmake writes the
// table from web/ and portal/openapi.json), so a running privox needs nothing from disk or Node.js.

#include <span>
#include <string_view>

namespace privox::portal {

struct EmbeddedFile {
  std::string_view path;   // as served: "/index.html", "/js/app.js", "/api/v1/openapi.json"
  std::string_view bytes;
};

std::span<const EmbeddedFile> embedded_files();

// The file served at `path` ("/" is "/index.html"); nullptr when there is none.
const EmbeddedFile* find_embedded(std::string_view path);
// The content type for a path's extension; application/octet-stream when unknown.
std::string_view content_type_for(std::string_view path);

}  // namespace privox::portal
