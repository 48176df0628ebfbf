using System;
using System.IO;
using System.IO.Compression;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Shop.Infrastructure;

/// <summary>Writes order reports to disk, compressed, with a manifest.</summary>
public sealed class ReportExporter
{
    private readonly IOrderStore _store;
    private readonly ILog _log;

    public ReportExporter(IOrderStore store, ILog log)
    {
        _store = store;
        _log = log;
    }

    public async Task ExportAsync(string path, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var temp = path + ".tmp";
        await using var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, useAsync: true);
        await using var gzip = new GZipStream(file, CompressionLevel.Optimal);
        await using var writer = new StreamWriter(gzip, Encoding.UTF8);
        var count = 0;
        try
        {
            await foreach (var order in _store.ScanAsync(since, cancellationToken))
            {
                await writer.WriteLineAsync($"{order.Id},{order.Customer},{order.Total}".AsMemory(), cancellationToken);
                count++;
            }
        }
        finally
        {
            await writer.FlushAsync(cancellationToken); // expect: CORRAL0006
        }

        _log.Info($"exported {count} orders");
        File.Move(temp, path, overwrite: true);
    }

    public async Task CopyAsync(Stream source, Stream target, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        finally
        {
            // Flush what we have, unless we are stopping anyway.
            if (!cancellationToken.IsCancellationRequested)
            {
                await target.FlushAsync(cancellationToken);
            }
        }
    }

    public async Task WriteManifestAsync(string directory, CancellationToken cancellationToken)
    {
        var manifest = Path.Combine(directory, "manifest.txt");
        var lockFile = Path.Combine(directory, ".lock");
        await File.WriteAllTextAsync(lockFile, Environment.ProcessId.ToString(), cancellationToken);
        try
        {
            var names = Directory.GetFiles(directory, "*.csv.gz");
            await File.WriteAllLinesAsync(manifest, names, cancellationToken);
        }
        catch (IOException ex)
        {
            _log.Error("manifest write failed", ex);
            throw;
        }
        finally
        {
            File.Delete(lockFile);
        }
    }

    public async Task ArchiveAsync(string path, Stream archive, CancellationToken cancellationToken)
    {
        await using var input = File.OpenRead(path);
        try
        {
            await input.CopyToAsync(archive, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _log.Warn($"archiving {path} was cancelled; removing the partial copy");
            await archive.FlushAsync(cancellationToken); // expect: CORRAL0006
            throw;
        }
    }

    // Best-effort cleanup inside finally: failures of the cleanup itself are ignored on purpose.
    public async Task UploadAsync(Stream content, Stream destination, CancellationToken cancellationToken)
    {
        try
        {
            await content.CopyToAsync(destination, cancellationToken);
        }
        finally
        {
            try
            {
                await destination.FlushAsync(CancellationToken.None);
            }
            catch (Exception ex)
            {
                _log.Warn("flush after upload failed", ex);
            }
        }
    }
}
