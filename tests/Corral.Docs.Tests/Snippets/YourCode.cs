// Stand-ins for the reader's own code in the docs' C# blocks: the methods, fields and types a snippet calls but does
// not declare (RefreshCacheAsync, _db, Order, ...). Compiled with every block (never into the tests); each block sees
// them through `global using static YourApp.YourCode;` and `global using YourApp;`.
//
// Add a member here when a new snippet needs one; keep each to one line, with the signature a reader would guess from
// the snippet. A block's own declaration of the same name wins, so a snippet may always declare what it shows.
#nullable enable
#pragma warning disable CS1998, CA1822, CA1707, IDE1006
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral;
using Corral.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace YourApp;

public static class YourCode
{
    // Work a group runs.
    public static Task RefreshCacheAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task SyncOrdersAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task WarmUpAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task HeartbeatAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task PollOrdersAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task PollOnceAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task ProcessNextAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task RefreshAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task DownloadAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task DownloadAsync(string url, CancellationToken ct) => Task.CompletedTask;
    public static Task UploadAsync(string file, CancellationToken ct) => Task.CompletedTask;
    public static Task<int> CountAsync(string what, CancellationToken ct) => Task.FromResult(0);

    // The worked example of concepts/cancellation.md.
    public static Item a { get; } = new();
    public static Item b { get; } = new();
    public static Task StepAsync(Item item, CancellationToken ct) => Task.CompletedTask;
    public static Task CleanupAsync(Item item, CancellationToken ct) => Task.CompletedTask;
    public static Task PublishAsync(Item first, Item second) => Task.CompletedTask;

    // Connections, servers and clients.
    public static Connection connection { get; } = new();
    public static Connection conn { get; } = new();
    public static string message { get; } = "hello";
    public static Task<Connection> OpenAsync(CancellationToken ct) => Task.FromResult(new Connection());
    public static Task HandleNextAsync(Connection connection, CancellationToken ct) => Task.CompletedTask;
    public static Task HandleNextAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task SendHeartbeatsAsync(Connection connection) => Task.CompletedTask;
    public static Task SendHeartbeatsAsync(Connection connection, CancellationToken ct) => Task.CompletedTask;
    public static Task ServeAsync(Connection connection) => Task.CompletedTask;
    public static Task ServeAsync(Listener listener, CancellationToken ct) => Task.CompletedTask;
    public static Listener Listen(int port) => new();
    public static Task RunClientAsync(int port, CancellationToken ct) => Task.CompletedTask;
    public static HttpClient http { get; } = new();
    public static string url { get; } = "https://example.com/";
    public static IEnumerable<string> urls { get; } = [];
    public static string path { get; } = "out.txt";
    public static Stream source { get; } = Stream.Null;
    public static Stream target { get; } = Stream.Null;
    public static OrdersApi api { get; } = new();
    public static int id { get; } = 42;
    public static PricingClient pricing { get; } = new();
    public static decimal fallbackPrice { get; } = 9.99m;
    public static PagesClient client { get; } = new();
    public static IEnumerable<Mirror> mirrors { get; } = [];

    // Data, streams and channels.
    public static OrderDatabase _db { get; } = new();
    public static Order Map(Row row) => new();
    public static Order order { get; } = new();
    public static Task HandleAsync(Order order) => Task.CompletedTask;
    public static Task HandleAsync(Order order, CancellationToken ct) => Task.CompletedTask;

    // Graceful stop (concepts/graceful-stop.md).
    public static Channel<Order> queue { get; } = Channel.CreateUnbounded<Order>();
    public static SemaphoreSlim shutdown { get; } = new(0);
    public static void Handle(int value) { }
    public static void Handle(Row row) { }
    public static IAsyncEnumerable<int> SourceAsync(CancellationToken ct) => Empty<int>();
    public static IAsyncEnumerable<Page> FetchPagesAsync(CancellationToken ct) => Empty<Page>();
    public static Task StoreAsync(Page page) => Task.CompletedTask;
    public static Task StoreAsync(string url, string body, CancellationToken ct) => Task.CompletedTask;
    public static IEnumerable<string> shards { get; } = [];
    public static Task ScanAsync(string shard, ChannelSender<Result> sender, CancellationToken ct) => Task.CompletedTask;
    public static void Merge(Result result) { }
    public static SemaphoreSlim gate { get; } = new(1);
    public static Task SaveAsync(string page, CancellationToken ct) => Task.CompletedTask;

    // The analyzer pages (docs/analyzers/CORRAL00nn.md).
    public static Task SyncWork() => Task.CompletedTask;
    public static Task WorkAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task PrepareAsync(CancellationToken ct) => Task.CompletedTask;
    public static Task PollAsync(CancellationToken ct) => Task.CompletedTask;
    public static CancellationToken outerToken { get; } = CancellationToken.None;
    public static OrderStore store { get; } = new();
    public static object cache { get; } = new();
    public static void Recompute(object cache) { }
    public static string fileA { get; } = "a.txt";
    public static string fileB { get; } = "b.txt";

    // Tests (concepts/testing.md).
    public static Task TransfersAsync(VirtualClock clock, CancellationToken ct) => Task.CompletedTask;

    // Logging.
    public static ILogger logger { get; } = NullLogger.Instance;
    public static ILogger _logger { get; } = NullLogger.Instance;
    public static ILoggerFactory loggerFactory { get; } = NullLoggerFactory.Instance;

    internal static async IAsyncEnumerable<T> Empty<T>()
    {
        yield break;
    }
}

public sealed class Item { public bool Done { get; set; } }
public sealed class Order { public bool IsLast { get; set; } }
public sealed class Row { }
public sealed class Page { }
public sealed class Result { }
public sealed class Quote { public decimal Price { get; set; } }
public sealed class Connection
{
    public Task SendAsync(string message, CancellationToken ct) => Task.CompletedTask;
    public Task CloseAsync(CancellationToken ct) => Task.CompletedTask;
    public void Abort() { }
}
public sealed class Listener : IDisposable { public int Port => 5000; public void Dispose() { } }
public sealed class OrdersApi { public Task<Order> GetOrderAsync(int id, CancellationToken ct) => Task.FromResult(new Order()); }
public sealed class PricingClient { public Task<Quote> QuoteAsync(CancellationToken ct) => Task.FromResult(new Quote()); }
public sealed class PagesClient { public Task<Page?> GetPageAsync(int index, CancellationToken ct) => Task.FromResult<Page?>(null); }
public sealed class Mirror { public string Name => "mirror"; public Task<string> FetchAsync(CancellationToken ct) => Task.FromResult(""); }
public sealed class OrderDatabase { public IAsyncEnumerable<Row> QueryAsync(CancellationToken ct) => YourCode.Empty<Row>(); }
public sealed class OrderStore { public Task SaveAsync(Order order, CancellationToken ct = default) => Task.CompletedTask; }
public sealed class FakeOrders(TimeProvider clock, TimeSpan latency)
{
    public async Task GetAsync(CancellationToken ct) => await Task.Delay(latency, clock, ct);
}
public sealed class InventoryClient(HttpClient http) { public Task<int> GetStockAsync(int id, CancellationToken ct) => Task.FromResult(http is null ? 0 : 1); }
