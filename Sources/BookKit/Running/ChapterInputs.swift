import Foundation

extension Chapter {
    /// Local images the chapter's page shows (figures and images in prose), as written:
    /// relative to the chapter's folder. The same list the page copies into the output.
    public var localImageSources: [String] {
        var sources: [String] = []
        for segment in segments {
            switch segment {
            case .figure(let path, _) where ChapterPage.isLocal(path): sources.append(path)
            case .prose(let blocks):
                sources += ProseBlock.imageSources(blocks).filter(ChapterPage.isLocal)
            default: break
            }
        }
        return Array(Set(sources)).sorted()
    }
}

extension ChapterRunner {
    /// Every file a chapter's page or run reads besides its Markdown: the local images its page
    /// shows and the data files its run hashes into the cache key. `serve` watches them.
    public func inputFiles(of chapter: Chapter) -> [URL] {
        let file = chapter.path.hasPrefix("/") ? URL(fileURLWithPath: chapter.path) : settings.bookRoot.appendingPathComponent(chapter.path)
        let folder = file.deletingLastPathComponent()
        let images = chapter.localImageSources.map { folder.appendingPathComponent($0.removingPercentEncoding ?? $0).standardizedFileURL }
        return images + dataFiles(for: chapter)
    }
}
