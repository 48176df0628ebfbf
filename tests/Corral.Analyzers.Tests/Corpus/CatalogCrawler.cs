using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral;

namespace Shop.Infrastructure;

/// <summary>Crawls the supplier catalogue with bounded fan-out, in a task group.</summary>
public sealed class CatalogCrawler
{
    private readonly HttpClient _http;
    private readonly ILog _log;
    private readonly IMetrics _metrics;
    private readonly ConcurrentDictionary<Uri, string> _pages = new();

    public CatalogCrawler(HttpClient http, ILog log, IMetrics metrics)
    {
        _http = http;
        _log = log;
        _metrics = metrics;
    }

    public async Task CrawlAsync(IReadOnlyList<Uri> seeds)
    {
        var work = Channel.CreateUnbounded<Uri>();
        foreach (var seed in seeds)
        {
            work.Writer.TryWrite(seed);
        }

        await TaskGroup.RunAsync(async group =>
        {
            for (var i = 0; i < 4; i++)
            {
                var worker = i;
                group.Start(ct => FetchLoopAsync(work.Reader, ct), $"fetcher-{worker}");
            }

            group.Start(async ct =>
            {
                while (!ct.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(10), ct);
                    _metrics.Increment("crawler.heartbeat");
                }
            }, "heartbeat");

            _ = _metrics.FlushAsync(group.Scope.Token); // expect: CORRAL0004

            await CancelScope.MoveOnAfterAsync(TimeSpan.FromMinutes(5), async ct =>
            {
                while (_pages.Count < 10_000)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                }
            });

            work.Writer.Complete();
            group.Cancel("crawl finished");
        });
    }

    private async Task FetchLoopAsync(ChannelReader<Uri> reader, CancellationToken cancellationToken)
    {
        await foreach (var uri in reader.ReadAllAsync(cancellationToken))
        {
            try
            {
                var body = await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(15), ct => _http.GetStringAsync(uri, ct));
                _pages[uri] = body;
            }
            catch (TimeoutException)
            {
                _log.Warn($"{uri} timed out");
            }
            catch (HttpRequestException ex)
            {
                _log.Warn($"{uri} failed", ex);
            }
        }
    }

    public Task<int> CountReachableAsync(IEnumerable<Uri> uris) => TaskGroup.RunAsync(async group =>
    {
        var probes = uris.Select(uri => group.Start(async ct =>
        {
            using var response = await _http.GetAsync(uri, ct);
            return response.IsSuccessStatusCode ? 1 : 0;
        })).ToList();
        var results = await Task.WhenAll(probes);
        return results.Sum();
    });

    public Task RefreshAsync(IEnumerable<Uri> uris) => TaskGroup.RunAsync(async group =>
    {
        foreach (var uri in uris)
        {
            group.Start(async ct =>
            {
                var body = await _http.GetStringAsync(uri, CancellationToken.None); // expect: CORRAL0005
                _pages[uri] = body;
            });
        }

        Task.Run(() => _log.Info("refresh scheduled")); // expect: CORRAL0004
        await Task.Yield();
    });

    public Task<bool> WarmUpAsync() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(30), async ct =>
    {
        foreach (var uri in _pages.Keys.Take(20))
        {
            using var response = await _http.GetAsync(uri, ct);
            _metrics.Increment(response.IsSuccessStatusCode ? "warm.ok" : "warm.fail");
        }

        await _metrics.FlushAsync(ct);
    });

    public Task SnapshotAsync(string path) => CancelScope.RunAsync(async scope =>
    {
        var lines = _pages.Select(p => $"{p.Key} {p.Value.Length}");
        await System.IO.File.WriteAllLinesAsync(path, lines, scope.Token);
        try
        {
            await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
        }
        finally
        {
            await CancelScope.ShieldAsync(ct => _metrics.FlushAsync(ct), TimeSpan.FromSeconds(2));
        }
    });

    public async Task SupervisedAsync(Func<CancellationToken, Task> job)
    {
        // Restart the job when it fails; a cancellation of the supervisor ends it.
        while (true)
        {
            try
            {
                await TaskGroup.RunAsync(group =>
                {
                    group.Start(job, "job");
                    return Task.CompletedTask;
                });
                return;
            }
            catch (TaskGroupException ex)
            {
                _log.Error("job failed; restarting", ex);
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
            }
        }
    }

    public async Task PumpAsync(ChannelReader<Uri> input, ChannelWriter<string> output)
    {
        await TaskGroup.RunAsync(async group =>
        {
            await foreach (var uri in input.ReadAllAsync(group.Scope.Token))
            {
                group.Start(async ct =>
                {
                    try
                    {
                        var body = await _http.GetStringAsync(uri, ct);
                        await output.WriteAsync(body, ct);
                    }
                    catch (OperationCanceledException) // expect: CORRAL0001
                    {
                        _log.Info($"{uri} abandoned");
                    }
                });
            }
        });
    }

    public Task NotifyAsync(IEnumerable<string> hooks) => TaskGroup.RunAsync(group =>
    {
        foreach (var hook in hooks)
        {
            group.Start(ct => _http.PostAsync(hook, new StringContent("refresh"), ct), hook);
        }

        return Task.CompletedTask;
    });

    public Task AuditAsync() => TaskGroup.RunAsync(async group =>
    {
        group.Start(async ct =>
        {
            try
            {
                await Task.Delay(1000, ct);
            }
            catch (Exception ex) // expect: CORRAL0002
            {
                _log.Error("audit failed", ex);
            }
        });
        await Task.CompletedTask;
    });
}
