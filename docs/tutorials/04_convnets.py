# %% [markdown]
# # 04_convnets

# %%
print(1)
