// The portable PDB of one module, read with System.Reflection.Metadata, to turn an await's IL offset into file:line.
//
// WHERE THE PDB IS. Embedded in the assembly (DebugType=embedded), or a file beside it named as the assembly's CodeView
// debug-directory entry says (DebugType=portable, the SDK's default in Debug and Release), or at the path that entry
// records. A PDB file is used only if its id matches the assembly's (the CodeView entry's GUID and stamp): a stale PDB
// beside a rebuilt assembly would give lines that were never an await. Windows PDBs are not read (line unknown).
//
// WHEN. Lazily, the first time a snapshot meets a frame of the module, never at start-up or on a hot path; then cached
// for the module's life (ConditionalWeakTable: a collectible assembly's entry goes with it). The whole PDB is read into
// memory and the file closed at once, so a rebuild is never blocked by an open handle.
//
// WHAT IS READ. For a state machine's MoveNext: its sequence points (IL offset -> document, line, column) and its async
// stepping information (custom debug information 54FD2AC5-E925-401A-9C2A-F94F171072F8: the catch handler's offset + 1,
// then per await the yield offset, the resume offset and the resume method), which is what debuggers step with.
using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Runtime.CompilerServices;

namespace Corral.Diagnostics.Stacks;

/// <summary>The portable PDB of one module, or the reason there is none. Thread-safe; one instance per module.</summary>
internal sealed class ModuleSymbols
{
    /// <summary>Kind of the async method stepping information (Roslyn's PortableCustomDebugInfoKinds).</summary>
    private static readonly Guid s_asyncSteppingKind = new("54FD2AC5-E925-401A-9C2A-F94F171072F8");

    /// <summary>One entry per module that a snapshot has met.</summary>
    private static readonly ConditionalWeakTable<Module, ModuleSymbols> s_cache = new();

    /// <summary>Owns the PDB's memory; kept for the module's life.</summary>
    private readonly MetadataReaderProvider? _provider;

    private ModuleSymbols(MetadataReaderProvider? provider, string? problem)
    {
        _provider = provider;
        Problem = problem;
    }

    /// <summary>Gets why there is no PDB ("no PDB beside Shop.dll"), or null when there is one.</summary>
    internal string? Problem { get; }

    /// <summary>Gets a value indicating whether a PDB was found.</summary>
    internal bool HasPdb => _provider is not null;

    /// <summary>The symbols of <paramref name="module"/>, loaded on first use.</summary>
    internal static ModuleSymbols For(Module module) => s_cache.GetValue(module, static m => Load(m));

    /// <summary>Reads the symbols of a PDB image directly (tests).</summary>
    internal static ModuleSymbols FromImage(byte[] pdb) => new(MetadataReaderProvider.FromPortablePdbImage(ImmutableArray.Create(pdb)), null);

    /// <summary>
    /// The debug information of the method with metadata token <paramref name="methodToken"/>: its sequence points in IL
    /// order, and the yield offsets of its awaits (empty when the PDB has no async stepping information for it).
    /// </summary>
    /// <returns>False when there is no PDB, or the method has no information in it.</returns>
    internal bool TryGetMethod(int methodToken, out SequencePointInfo[] points, out int[] yieldOffsets)
    {
        points = [];
        yieldOffsets = [];
        if (_provider is null)
        {
            return false;
        }

        try
        {
            var reader = _provider.GetMetadataReader();
            var handle = (MethodDefinitionHandle)MetadataTokens.EntityHandle(methodToken);
            if (MetadataTokens.GetRowNumber(handle) > reader.MethodDebugInformation.Count)
            {
                return false;
            }

            var list = new List<SequencePointInfo>();
            foreach (var point in reader.GetMethodDebugInformation(handle).GetSequencePoints())
            {
                list.Add(point.IsHidden
                    ? new SequencePointInfo(point.Offset, null, 0, 0)
                    : new SequencePointInfo(point.Offset, reader.GetString(reader.GetDocument(point.Document).Name), point.StartLine, point.StartColumn));
            }

            var yields = new List<int>();
            foreach (var cdiHandle in reader.GetCustomDebugInformation(handle))
            {
                var cdi = reader.GetCustomDebugInformation(cdiHandle);
                if (reader.GetGuid(cdi.Kind) != s_asyncSteppingKind)
                {
                    continue;
                }

                var blob = reader.GetBlobReader(cdi.Value);
                _ = blob.ReadUInt32(); // catch handler offset + 1, or 0
                while (blob.RemainingBytes > 0)
                {
                    yields.Add((int)blob.ReadUInt32());
                    _ = blob.ReadUInt32(); // resume offset
                    _ = blob.ReadCompressedInteger(); // resume method (MoveNext itself)
                }
            }

            yields.Sort();
            points = [.. list];
            yieldOffsets = [.. yields];
            return list.Count > 0;
        }
        catch (Exception e) when (e is BadImageFormatException or InvalidCastException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    [UnconditionalSuppressMessage("SingleFile", "IL3000:Avoid accessing Assembly file path when publishing as a single file",
        Justification = "An empty location (single-file, in-memory assemblies) means no PDB: lines are then unknown.")]
    private static ModuleSymbols Load(Module module)
    {
        var path = module.Assembly.Location;
        var name = module.Assembly.GetName().Name ?? "the module";
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return new ModuleSymbols(null, $"{name} was not loaded from a file");
        }

        try
        {
            using var pe = new PEReader(File.Open(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            var entries = pe.ReadDebugDirectory();
            foreach (var entry in entries)
            {
                if (entry.Type == DebugDirectoryEntryType.EmbeddedPortablePdb)
                {
                    return new ModuleSymbols(pe.ReadEmbeddedPortablePdbDebugDirectoryData(entry), null);
                }
            }

            foreach (var entry in entries)
            {
                if (entry.Type != DebugDirectoryEntryType.CodeView || !entry.IsPortableCodeView)
                {
                    continue;
                }

                var codeView = pe.ReadCodeViewDebugDirectoryData(entry);
                var beside = Path.Combine(Path.GetDirectoryName(path) ?? string.Empty, Path.GetFileName(codeView.Path));
                foreach (var candidate in beside == codeView.Path ? [beside] : new[] { beside, codeView.Path })
                {
                    if (TryOpenMatching(candidate, codeView.Guid, entry.Stamp) is { } provider)
                    {
                        return new ModuleSymbols(provider, null);
                    }
                }

                return new ModuleSymbols(null, $"no matching PDB for {Path.GetFileName(path)} (looked for {Path.GetFileName(codeView.Path)} beside it)");
            }

            return new ModuleSymbols(null, $"{Path.GetFileName(path)} names no portable PDB");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException or InvalidOperationException)
        {
            return new ModuleSymbols(null, $"the PDB of {Path.GetFileName(path)} could not be read ({e.GetType().Name})");
        }
    }

    /// <summary>Opens the PDB at <paramref name="path"/> if it exists, is portable and has the id the assembly expects.</summary>
    private static MetadataReaderProvider? TryOpenMatching(string path, Guid guid, uint stamp)
    {
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return null;
        }

        MetadataReaderProvider? provider = null;
        try
        {
            provider = MetadataReaderProvider.FromPortablePdbImage(ImmutableArray.Create(File.ReadAllBytes(path)));
            var id = provider.GetMetadataReader().DebugMetadataHeader?.Id;
            if (id is { Length: 20 } bytes && new Guid(bytes.AsSpan(0, 16)) == guid && BitConverter.ToUInt32(bytes.AsSpan(16, 4)) == stamp)
            {
                return provider;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException)
        {
        }

        provider?.Dispose();
        return null;
    }
}
