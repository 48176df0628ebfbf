using System;
using System.Globalization;
using System.Net.Http;
using System.Threading.Tasks;
using Corral.Services.Protos;
using Grpc.Core;

namespace Corral.Services;

/// <summary>Orders: reports its budget, works a little, asks inventory over HTTP (which asks pricing over gRPC).</summary>
internal sealed class OrdersService(IHttpClientFactory http) : Orders.OrdersBase
{
    public override async Task<OrderReply> PlaceOrder(OrderRequest request, ServerCallContext context)
    {
        var budget = Budget.Describe("orders");
        await CancelScope.SleepAsync(TimeSpan.FromMilliseconds(250)); // checks the customer
        var text = await http.CreateClient("inventory").GetStringAsync(
            new Uri($"/stock/{Uri.EscapeDataString(request.Sku)}?mode={request.Mode}", UriKind.Relative), context.CancellationToken);
        var parts = text.Split('|');
        var reply = new OrderReply { Cents = long.Parse(parts[0], CultureInfo.InvariantCulture) };
        reply.Budgets.Add(budget);
        reply.Budgets.Add(parts[1]);
        reply.Budgets.Add(parts[2]);
        return reply;
    }
}
