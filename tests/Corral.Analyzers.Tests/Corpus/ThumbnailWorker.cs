using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Corral;

namespace Shop.Infrastructure;

/// <summary>Downloads product images and renders thumbnails, a task group per batch, with per-image time limits.</summary>
public sealed class ThumbnailWorker
{
    private readonly HttpClient _http;
    private readonly ILog _log;
    private readonly SemaphoreSlim _renderSlots = new(2);
    private readonly string _outputDirectory;

    public ThumbnailWorker(HttpClient http, ILog log, string outputDirectory)
    {
        _http = http;
        _log = log;
        _outputDirectory = outputDirectory;
    }

    public Task RenderBatchAsync(IReadOnlyList<Uri> images) => TaskGroup.RunAsync(group =>
    {
        foreach (var image in images)
        {
            group.Start(async ct =>
            {
                var bytes = await DownloadWithBackoffAsync(image, ct);
                _renderSlots.Wait(); // expect: CORRAL0009
                try
                {
                    await File.WriteAllBytesAsync(Path.Combine(_outputDirectory, Path.GetFileName(image.LocalPath)), Resize(bytes), ct);
                }
                finally
                {
                    _renderSlots.Release();
                }
            }, image.ToString());
        }

        return Task.CompletedTask;
    });

    // Right: the same slot, awaited with the child's token.
    public Task RenderBatchCarefullyAsync(IReadOnlyList<Uri> images) => TaskGroup.RunAsync(group =>
    {
        foreach (var image in images)
        {
            group.Start(async ct =>
            {
                var bytes = await DownloadWithBackoffAsync(image, ct);
                await _renderSlots.WaitAsync(ct);
                try
                {
                    await File.WriteAllBytesAsync(Path.Combine(_outputDirectory, Path.GetFileName(image.LocalPath)), Resize(bytes), ct);
                }
                finally
                {
                    _renderSlots.Release();
                }
            }, image.ToString());
        }

        return Task.CompletedTask;
    });

    public Task WarmCacheAsync(IReadOnlyList<Uri> images) => TaskGroup.RunAsync(async group =>
    {
        var downloads = images.Select(image => group.Start(ct => _http.GetByteArrayAsync(image, ct))).ToList();
        await Task.WhenAll(downloads);
        var total = downloads.Sum(d => d.Result.Length);
        _log.Info($"warmed {total} bytes");

        group.Start(async ct =>
        {
            Thread.Sleep(TimeSpan.FromSeconds(1)); // expect: CORRAL0009
            var manifest = _http.GetStringAsync("thumbnails/manifest", ct).GetAwaiter().GetResult(); // expect: CORRAL0009
            await File.WriteAllTextAsync(Path.Combine(_outputDirectory, "manifest.txt"), manifest, ct);
        }, "manifest");
    });

    // A preview must not hold up the page: two seconds, then move on. But the rendering is synchronous and nothing in
    // it looks at the scope, so the two seconds bound nothing.
    public async Task<byte[]?> TryPreviewAsync(byte[] image)
    {
        byte[]? preview = null;
        var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(2), _ => // expect: CORRAL0010
        {
            preview = Resize(image);
            return Task.CompletedTask;
        });
        return completed ? preview : null;
    }

    // Right: the rendering checks the scope between rows.
    public async Task<byte[]?> TryPreviewCarefullyAsync(byte[] image)
    {
        byte[]? preview = null;
        var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(2), _ =>
        {
            preview = ResizeCancellably(image);
            return Task.CompletedTask;
        });
        return completed ? preview : null;
    }

    // Bounded cleanup that is not bounded: the flush is given no token.
    public async Task SaveAsync(Stream target, byte[] image, CancellationToken cancellationToken)
    {
        try
        {
            await target.WriteAsync(image, cancellationToken);
        }
        finally
        {
            await CancelScope.ShieldAsync(_ => target.FlushAsync(), TimeSpan.FromSeconds(2)); // expect: CORRAL0010
        }
    }

    // Right: the shield's own token reaches the flush.
    public async Task SaveCarefullyAsync(Stream target, byte[] image, CancellationToken cancellationToken)
    {
        try
        {
            await target.WriteAsync(image, cancellationToken);
        }
        finally
        {
            await CancelScope.ShieldAsync(t => target.FlushAsync(t), TimeSpan.FromSeconds(2));
        }
    }

    private async Task<byte[]> DownloadWithBackoffAsync(Uri image, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _http.GetByteArrayAsync(image, cancellationToken);
            }
            catch (HttpRequestException ex) when (attempt < 3)
            {
                _log.Warn($"download of {image} failed, attempt {attempt}", ex);
                Thread.Sleep(200 * attempt); // missed: CORRAL0009
            }
        }
    }

    private static byte[] Resize(byte[] image) => image.Take(Math.Max(1, image.Length / 4)).ToArray();

    private static byte[] ResizeCancellably(byte[] image)
    {
        var rows = new List<byte>();
        for (var i = 0; i < image.Length; i += 4)
        {
            CancelScope.ThrowIfCancelled();
            rows.Add(image[i]);
        }

        return rows.ToArray();
    }
}
